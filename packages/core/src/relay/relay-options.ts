import type { Kysely } from 'kysely'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { consoleLogger, type Logger } from '../logger.js'
import type { Publisher } from '../publisher.js'
import { LANE_COUNT } from '../schema/migrations.js'
import { rejectUnknownOptions, resolveTableNames, type TableNames, type TableOptions } from '../schema/table-names.js'
import { type BackoffOptions, exponentialBackoff, type RetryDelay } from './backoff.js'
import type { ListenSource } from './wake-up-listener.js'

/** Options of {@link createRelay}. */
export interface RelayOptions extends TableOptions {
  /** Where the outbox is. The relay holds one of its connections per concurrent batch. */
  db: Kysely<any>
  /** Where messages go: `redisStreamsPublisher(...)`, `rabbitmqPublisher(...)` or your own. */
  publisher: Publisher
  /** Most messages claimed and published per batch. Default 500. */
  batchSize?: number
  /**
   * Batches in flight at once, each on its own connection (and its own
   * lanes, so per-key order holds). Default 2: while one batch waits for the
   * broker, the next is being claimed, so the database and the broker are
   * busy at the same time. Use 1 to hold a single connection.
   */
  concurrency?: number
  /**
   * Most lanes (of 64) one batch takes. A claim locks lanes only until they
   * hold a batch, leaving the rest to other relays; this caps it further.
   * Default 64.
   */
  lanesPerClaim?: number
  /** How often an idle relay looks for work when no signal wakes it, in ms. Default 1000. */
  pollInterval?: number
  /**
   * A LISTEN connection for low-latency wake-up: the `pg.Pool` behind `db`, or
   * anything with `connect()` resolving to a pg client. Without it the relay
   * only polls. See enqueueOnCommit's `notify` for the sending side.
   *
   * The relay guards this pool's clients as it guards `pool`'s.
   */
  listen?: ListenSource
  /**
   * The `pg.Pool` behind `db`. Give it (or give it as `listen`): node-postgres
   * emits 'error' on a checked-out client when the server ends its connection
   * (a restart, `pg_terminate_backend`, a network cut), and nothing listens
   * then, so the process would crash. The relay adds that listener to the
   * pool's clients; the statement in flight fails, the relay reports it and
   * retries. Without `pool` or `listen`, add it yourself:
   * `pool.on('connect', (client) => client.on('error', log))`.
   */
  pool?: ListenSource
  /** Tries before a message goes to the dead letters. Default 10. */
  maxAttempts?: number
  /** Delay before each retry: exponential with full jitter (an options object), or your own function. */
  backoff?: BackoffOptions | RetryDelay
  /**
   * Whether a failing message holds back the later messages of its key until
   * it is published or dead. Default true (per-key order holds under failure).
   * With false, a failing message is retried after its key's later messages.
   */
  blockKeyOnFailure?: boolean
  /** How long a batch may wait for the broker before its unconfirmed messages count as failed, in ms. Default 30000. */
  publishTimeout?: number
  /** Where the relay logs. pino fits. Default: warnings and errors to the console (`consoleLogger`); `silentLogger` silences it. */
  logger?: Logger
}

/** Options resolved and validated once, then passed around immutable. */
export interface ResolvedRelayOptions {
  readonly db: Kysely<any>
  readonly publisher: Publisher
  readonly names: TableNames
  readonly batchSize: number
  readonly concurrency: number
  readonly lanesPerClaim: number
  readonly pollInterval: number
  readonly listen: ListenSource | undefined
  readonly pool: ListenSource | undefined
  readonly maxAttempts: number
  readonly retryDelay: RetryDelay
  readonly blockKeyOnFailure: boolean
  readonly publishTimeout: number
  readonly logger: Logger
}

const OPTION_NAMES = [
  'db',
  'publisher',
  'batchSize',
  'concurrency',
  'lanesPerClaim',
  'pollInterval',
  'listen',
  'pool',
  'maxAttempts',
  'backoff',
  'blockKeyOnFailure',
  'publishTimeout',
  'logger',
]

export function resolveRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'createRelay({ db, publisher, ... }): options must be an object.')
  }
  rejectUnknownOptions('createRelay', options, OPTION_NAMES)
  const { db, publisher } = options
  if (!db || typeof (db as Kysely<any>).executeQuery !== 'function') {
    throw new InvalidOptionError('db', 'createRelay: db must be a Kysely instance on your PostgreSQL database.')
  }
  if (!publisher || typeof publisher.publish !== 'function') {
    throw new InvalidOptionError('publisher', 'createRelay: publisher must implement publish(messages, context), e.g. redisStreamsPublisher({ redis }) from @txbox/redis.')
  }
  if (options.listen !== undefined && typeof options.listen?.connect !== 'function') {
    throw new InvalidOptionError('listen', 'createRelay: listen must be a pg.Pool (or an object with connect() resolving to a pg client).')
  }
  if (options.pool !== undefined && typeof options.pool?.on !== 'function') {
    throw new InvalidOptionError('pool', 'createRelay: pool must be the pg.Pool behind db.')
  }
  if (options.logger !== undefined) {
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      if (typeof options.logger?.[level] !== 'function') {
        throw new InvalidOptionError('logger', `createRelay: logger.${level} must be a function (a pino logger fits).`)
      }
    }
  }
  const backoff = options.backoff
  let retryDelay: RetryDelay
  if (typeof backoff === 'function') retryDelay = backoff
  else if (backoff === undefined || (typeof backoff === 'object' && backoff !== null)) retryDelay = exponentialBackoff(backoff)
  else throw new InvalidOptionError('backoff', 'createRelay: backoff must be { initialDelay, maxDelay, multiplier } or a function (attempts) => ms.')
  if (options.blockKeyOnFailure !== undefined && typeof options.blockKeyOnFailure !== 'boolean') {
    throw new InvalidOptionError('blockKeyOnFailure', 'createRelay: blockKeyOnFailure must be true or false.')
  }

  return {
    db,
    publisher,
    names: resolveTableNames(options),
    batchSize: integer('batchSize', options.batchSize, 500, 1, 10_000),
    concurrency: integer('concurrency', options.concurrency, 2, 1, 64),
    lanesPerClaim: integer('lanesPerClaim', options.lanesPerClaim, LANE_COUNT, 1, LANE_COUNT),
    pollInterval: integer('pollInterval', options.pollInterval, 1000, 1, 3_600_000),
    listen: options.listen,
    pool: options.pool,
    maxAttempts: integer('maxAttempts', options.maxAttempts, 10, 1, 1_000_000),
    retryDelay,
    blockKeyOnFailure: options.blockKeyOnFailure ?? true,
    publishTimeout: integer('publishTimeout', options.publishTimeout, 30_000, 1, 3_600_000),
    logger: options.logger ?? consoleLogger,
  }
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `createRelay: ${name} must be an integer from ${min} to ${max}, got ${String(value)}.`)
  }
  return value
}
