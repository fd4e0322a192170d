import type { Kysely } from 'kysely'
import { consoleLogger, LOGGER_OPTION, type Logger } from '../logger.js'
import { DATABASE_OPTION } from '../options/database-option.js'
import type { OptionDeclaration } from '../options/option-declaration.js'
import { adapt, boolean, hasMethods, integer, shape } from '../options/option-kinds.js'
import { resolveOptions } from '../options/resolve-options.js'
import type { Publisher } from '../publisher.js'
import { LANE_COUNT } from '../schema/migrations.js'
import { resolveTableNames, TABLE_OPTIONS, type TableNames, type TableOptions } from '../schema/table-names.js'
import { type BackoffOptions, backoffOption, type RetryDelay } from './backoff.js'
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
   * A LISTEN connection for low-latency wake-up by commits in other
   * processes: the `pg.Pool` behind `db`, or anything with `connect()`
   * resolving to a pg client. Commits made with withTransaction in the
   * relay's own process wake it directly, with or without `listen`; without
   * it, other commits wait for the next poll. See enqueueOnCommit's `notify`
   * for the sending side.
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

/**
 * Every option of {@link createRelay}, declared once: checked by
 * {@link resolveRelayOptions}, shown by `txbox relay --help` (the options
 * marked `cli`) and in the docs' option tables.
 */
export const RELAY_OPTIONS = {
  db: adapt(DATABASE_OPTION, { description: 'Where the outbox is. The relay holds one of its connections per concurrent batch.' }),
  publisher: shape<Publisher>()({
    type: 'Publisher',
    description: 'Where messages go: redisStreamsPublisher(...), rabbitmqPublisher(...) or your own.',
    required: true,
    expected: 'a Publisher implementing publish(messages, context), e.g. redisStreamsPublisher({ redis }) from @txbox/redis',
    test: (value) => hasMethods(value, 'publish'),
  }),
  batchSize: integer({ min: 1, max: 10_000, default: 500, cli: true, description: 'Most messages claimed and published per batch.' }),
  concurrency: integer({ min: 1, max: 64, default: 2, cli: true, description: 'Batches in flight at once, each on its own connection (1 holds a single connection).' }),
  lanesPerClaim: integer({ min: 1, max: LANE_COUNT, default: LANE_COUNT, cli: true, description: `Most lanes (of ${LANE_COUNT}) one batch takes, leaving the rest to other relays.` }),
  pollInterval: integer({ min: 1, max: 3_600_000, unit: 'ms', default: 1000, cli: true, description: 'How often an idle relay looks for work when no signal wakes it.' }),
  listen: shape<ListenSource>()({
    type: 'pg.Pool',
    description: "A LISTEN connection for low-latency wake-up by other processes' commits: the pg.Pool behind db. Without it, only commits in the relay's own process wake it; others wait for the next poll.",
    defaultText: 'none',
    expected: 'a pg.Pool (or an object with connect() resolving to a pg client)',
    test: (value) => hasMethods(value, 'connect'),
  }),
  pool: shape<ListenSource>()({
    type: 'pg.Pool',
    description: "The pg.Pool behind db (or give it as listen): the relay guards its clients against a connection the server ends.",
    defaultText: 'none',
    expected: 'the pg.Pool behind db',
    test: (value) => hasMethods(value, 'on'),
  }),
  maxAttempts: integer({ min: 1, max: 1_000_000, default: 10, cli: true, description: 'Tries before a message goes to the dead letters.' }),
  backoff: backoffOption,
  blockKeyOnFailure: boolean({
    default: true,
    cli: true,
    description: "Whether a failing message holds back its key's later messages until it is published or dead (per-key order under failure).",
  }),
  publishTimeout: integer({
    min: 1,
    max: 3_600_000,
    unit: 'ms',
    default: 30_000,
    cli: true,
    description: 'How long a batch may wait for the broker before its unconfirmed messages count as failed.',
  }),
  logger: adapt(LOGGER_OPTION, { default: consoleLogger, defaultText: 'consoleLogger (warnings and errors to the console)' }),
  ...TABLE_OPTIONS,
} as const satisfies Record<keyof RelayOptions, OptionDeclaration<any>>

export function resolveRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  const { schema, outboxTable, deadTable, inboxTable, backoff, ...resolved } = resolveOptions('createRelay', RELAY_OPTIONS, options)
  return { ...resolved, names: resolveTableNames({ schema, outboxTable, deadTable, inboxTable }), retryDelay: backoff }
}
