import type { PublishFault } from '@txbox/testing'

/**
 * What one checker run does, as plain data: generated from a seed
 * (generate-scenario.ts), shrunk by dropping parts (shrink-scenario.ts),
 * printed and replayed as JSON. Nothing here refers to a live object.
 */

export type BrokerKind = 'redis' | 'rabbitmq'

/** Server settings of the run's own role, which the relays (and the CLI) connect as. */
export interface ServerSettings {
  /** `default_transaction_isolation = serializable`. */
  readonly serializable: boolean
  /** `idle_in_transaction_session_timeout`, in ms, or none. */
  readonly idleInTransactionMs: number | null
  /** `statement_timeout`, in ms, or none. */
  readonly statementTimeoutMs: number | null
}

export interface RunConfig {
  readonly broker: BrokerKind
  /** Concurrency of each relay (1–3); one entry per relay (1–4). */
  readonly relays: readonly number[]
  readonly blockKeyOnFailure: boolean
  readonly batchSize: number
  readonly publishTimeoutMs: number
  readonly maxAttempts: number
  /** Ordering keys to draw from: few, so same-key writers collide. */
  readonly keys: number
  /** Whether writers sometimes send input that passes validation but is hard on a broker or the database (MessageSpec.odd). */
  readonly oddInputs: boolean
  readonly settings: ServerSettings
}

/** One message a writer enqueues. */
export interface MessageSpec {
  /** Index into the run's keys, or null for an unkeyed message. */
  readonly key: number | null
  readonly delayMs?: number
  /** Index into the run's small pool of caller-chosen message ids (idempotency keys). */
  readonly reuse?: number
  /** Input that passes validation but is hard on a broker or the database. */
  readonly odd?: 'multibyte-id' | 'lone-surrogate'
  /** Which of the two topics ('a' or 'b'). */
  readonly topic?: 'a' | 'b'
}

export type WriterStep =
  /** One enqueueOnCommit call: all messages in one array, or one call per message. */
  | { readonly s: 'enqueue'; readonly messages: readonly MessageSpec[]; readonly array: boolean }
  /** A nested withTransaction (a savepoint), released or rolled back. */
  | { readonly s: 'savepoint'; readonly steps: readonly WriterStep[]; readonly rollback: boolean }

export type Action =
  /**
   * A writer transaction, run on writer `writer`'s own chain (the driver does
   * not wait for it). Its first step enqueues one message of every key it uses
   * (see generate-scenario.ts: that is where it takes its keys' locks).
   */
  | { readonly t: 'tx'; readonly writer: number; readonly steps: readonly WriterStep[]; readonly rollback: boolean; readonly holdMs: number }
  /** A row written into the outbox by hand (another tool), unkeyed; `nullHeaders` writes JSON null into headers. */
  | { readonly t: 'raw'; readonly nullHeaders: boolean }
  /** A fault for relay `relay`'s next publish call. */
  | { readonly t: 'fault'; readonly relay: number; readonly fault: PublishFault }
  /** Every relay refuses the next `times` messages with this key (or reused message id), until the fault phase ends. */
  | { readonly t: 'poison'; readonly target: { readonly key: number } | { readonly reuse: number }; readonly permanent: boolean; readonly times: number }
  /** Relay `relay` crashes: its sessions are terminated; with `restart`, it is abandoned and a new one takes its place. */
  | { readonly t: 'crash'; readonly relay: number; readonly restart: boolean }
  /** `txbox dead retry`, by message id (up to 3 of the dead letters there now) or `--all --yes`. */
  | { readonly t: 'dead-retry'; readonly select: 'ids' | 'all' }
  /** `txbox dead purge --yes`, by message id (one of the dead letters there now) or `--topic`. */
  | { readonly t: 'dead-purge'; readonly select: 'ids' | 'topic' }
  /** Pacing: lets the relays work for `ms` before the next action. */
  | { readonly t: 'pause'; readonly ms: number }
  /** Waits until the writers are idle and no ready row is left (bounded). */
  | { readonly t: 'quiesce' }

export interface Scenario {
  readonly seed: number
  readonly config: RunConfig
  readonly actions: readonly Action[]
}
