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

/**
 * What an adapter package exports as `broker`, so that tools (the `txbox`
 * CLI) can open a publisher from a URL without the core knowing any broker.
 * Every adapter exports one, with the same shape.
 */
export interface BrokerDescriptor {
  /** The broker's name, as users say it: 'redis', 'rabbitmq', 'nats', 'bullmq'. */
  readonly name: string
  /** The URL schemes it serves, with their colon: `['nats:']`. */
  readonly schemes: readonly string[]
  /** The `npm install` line that brings the adapter and its client library. */
  readonly install: string
  /** Options it reads from the CLI (`--stream`, `--exchange`, …), by flag name, each with a one-line description. */
  readonly flags: Readonly<Record<string, string>>
  /**
   * Connects to `url` and returns a publisher. Must fail fast (a rejected
   * promise with an Error that says what to check) when the broker cannot be
   * reached or refuses the credentials: a relay must not start and then fail
   * every publish.
   */
  open(url: string, options: { readonly flags: Readonly<Record<string, string | number | undefined>>; readonly logger: Logger }): Promise<BrokerConnection>
}
