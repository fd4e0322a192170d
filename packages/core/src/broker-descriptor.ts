import type { Logger } from './logger.js'
import type { Publisher } from './publisher.js'

/** A publisher opened from a broker URL by {@link BrokerDescriptor.open}, and how to release it. */
export interface BrokerConnection {
  readonly publisher: Publisher
  /** The URL without its password, for logs. */
  readonly description: string
  /** Closes politely (waits for the broker's answer); bounded by the caller. */
  close(): Promise<void>
  /** Drops the connection at once, for a broker that does not answer `close()`. */
  destroy(): void
}

/** Broker options given on the command line, by the names of {@link BrokerDescriptor.flags}. */
export type BrokerFlags = Readonly<Record<string, string | number | undefined>>

/** What {@link BrokerDescriptor.open} gets besides the URL. */
export interface BrokerOpenOptions {
  readonly flags: BrokerFlags
  readonly logger: Logger
}

/**
 * What an adapter package exports as `broker`, so that tools (the `txbox`
 * CLI) can open a publisher from a URL without the core knowing any broker.
 * Every adapter exports one, with the same shape, and says so in its
 * package.json (`"txbox": { "broker": true }`), which is how the CLI finds
 * the adapters installed in a project.
 */
export interface BrokerDescriptor {
  /** The broker's name, as users say it: 'redis', 'rabbitmq', 'nats', 'bullmq'. */
  readonly name: string
  /** The URL schemes it serves, with their colon: `['nats:']`. */
  readonly schemes: readonly string[]
  /** The `npm install` line that brings the adapter and its client library. */
  readonly install: string
  /** Options it reads from the CLI (`--stream`, `--exchange`, …), by flag name in camelCase (`maxLen` is `--max-len`), each with a one-line description. */
  readonly flags: Readonly<Record<string, string>>
  /**
   * Connects to `url` and returns a publisher. Must fail fast (a rejected
   * promise with an Error that says what to check) when the broker cannot be
   * reached or refuses the credentials: a relay must not start and then fail
   * every publish. A flag it does not take, or a bad flag value, is an
   * `InvalidOptionError`.
   */
  open(url: string, options: BrokerOpenOptions): Promise<BrokerConnection>
}
