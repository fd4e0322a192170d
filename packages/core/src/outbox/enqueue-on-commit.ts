import { InvalidMessageError } from '../errors/invalid-message-error.js'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { NotInTransactionError } from '../errors/not-in-transaction-error.js'
import { PayloadTooLargeError } from '../errors/payload-too-large-error.js'
import { rejectUnknownOptions, resolveTableNames, type TableOptions } from '../schema/table-names.js'
import { runSql } from '../sql/run-sql.js'
import { isKysely, isPgClient, type PgClientLike, type SqlRunner } from '../sql-executor.js'
import { findScope } from '../transaction/transaction-scope.js'
import { insertStatement, type NotifyMode } from './insert-statement.js'
import type { OutboxMessageInput, ValidatedMessage } from './message.js'
import { validateMessage } from './validate-message.js'
import { signalRelays } from './wake-up-signal.js'

/** Options of {@link enqueueOnCommit}. */
export interface EnqueueOptions extends TableOptions {
  /** Largest accepted payload, in bytes of JSON text. Default 1 MiB; at most 32 MiB. */
  maxPayloadBytes?: number
  /**
   * How relays learn about the new messages (they also poll, so this only
   * changes latency):
   * - `'after-commit'` (default): one NOTIFY after the commit, at most once per
   *   5 ms per process. Needs a transaction opened by withTransaction; for
   *   others nothing is sent and relays find the messages when they poll.
   * - `'in-transaction'`: a NOTIFY inside the transaction. Works with any
   *   transaction, but serialises commits database-wide (see docs/operations).
   * - `false`: no signal.
   */
  notify?: NotifyMode
}

const OPTION_NAMES = ['maxPayloadBytes', 'notify']
const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
/**
 * The largest `maxPayloadBytes` accepted. A jsonb value holds at most 256 MiB,
 * and its binary form can take 6 times the JSON text (measured: `[0,0,…]`
 * takes 12 bytes per element in jsonb for 2 of text), so 32 MiB of JSON always
 * fits. Brokers refuse far less by default (RabbitMQ 4: 16 MiB).
 */
const MAX_PAYLOAD_BYTES_LIMIT = 32 * 1024 * 1024
/**
 * The most JSON (payloads and headers, in UTF-8 bytes) one call inserts. An
 * array travels as text[] literals, which escape each quote and backslash (up
 * to twice the JSON's length), must each be one JavaScript string (at most
 * 2^29 − 24 units), and go in one protocol message of at most 1 GB: for more,
 * the server closes the connection, and the caller's transaction is lost.
 */
const MAX_CALL_BYTES = 128 * 1024 * 1024
const MAX_BATCH = 10_000

/**
 * Records one message, or many in one statement, in the caller's transaction,
 * and returns their message ids (in input order). The relay publishes them
 * after the transaction commits; if it rolls back, they never existed.
 *
 * `trx` may be a transaction from {@link withTransaction} (or the same `db`
 * inside its callback), a Kysely transaction from `db.transaction()`, or a
 * node-postgres client inside `BEGIN`. Anything else throws
 * NotInTransactionError. Bad input throws a typed error before any SQL runs
 * (see {@link OutboxMessageInput} for the limits; one call carries at most
 * 10,000 messages and 128 MiB of JSON).
 */
export async function enqueueOnCommit(
  trx: SqlRunner,
  messages: OutboxMessageInput | readonly OutboxMessageInput[],
  options: EnqueueOptions = {},
): Promise<string[]> {
  rejectUnknownOptions('enqueueOnCommit', options, OPTION_NAMES)
  const names = resolveTableNames(options)
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes <= 0 || maxPayloadBytes > MAX_PAYLOAD_BYTES_LIMIT) {
    throw new InvalidOptionError(
      'maxPayloadBytes',
      `enqueueOnCommit: maxPayloadBytes must be a positive integer of at most ${MAX_PAYLOAD_BYTES_LIMIT} (32 MiB, what PostgreSQL's jsonb surely holds), got ${String(options.maxPayloadBytes)}. Store larger data in your own table or object storage and enqueue a reference to it.`,
    )
  }
  const notify = options.notify ?? 'after-commit'
  if (notify !== 'after-commit' && notify !== 'in-transaction' && notify !== false) {
    throw new InvalidOptionError('notify', `enqueueOnCommit: notify must be 'after-commit', 'in-transaction' or false, got ${JSON.stringify(notify)}.`)
  }

  const list = Array.isArray(messages) ? (messages as readonly OutboxMessageInput[]) : [messages as OutboxMessageInput]
  if (Array.isArray(messages) && list.length > MAX_BATCH) {
    throw new InvalidMessageError('messages', `enqueueOnCommit accepts at most ${MAX_BATCH} messages per call, got ${list.length}: split the array.`)
  }
  // A loop, not map(): map skips the holes of a sparse array, which then
  // reached the INSERT as NULL message ids.
  const validated: ValidatedMessage[] = []
  let bytes = 0
  for (let i = 0; i < list.length; i++) {
    const m = validateMessage(list[i], Array.isArray(messages) ? `messages[${i}]` : 'message', maxPayloadBytes)
    bytes += m.bytes
    if (bytes > MAX_CALL_BYTES) {
      throw new PayloadTooLargeError(
        'messages',
        bytes,
        MAX_CALL_BYTES,
        `enqueueOnCommit: ${Array.isArray(messages) ? `the messages up to messages[${i}] are` : 'the message is'} ${bytes} bytes of JSON (payloads and headers), over the limit of ${MAX_CALL_BYTES} bytes (128 MiB) for one call, what one statement surely carries. Split the array into several calls (in the same transaction, if you like), or store large data elsewhere and enqueue a reference to it.`,
      )
    }
    validated.push(m)
  }
  const runner = resolveRunner(trx)
  if (validated.length === 0) return []

  const inTransactionNotify = notify === 'in-transaction'
  await runSql(runner.sql, insertStatement(names, validated, inTransactionNotify))
  if (notify === 'after-commit' && runner.scope) {
    const scope = runner.scope.root
    const onceKey = `notify:${names.channel}`
    if (!scope.onceKeys.has(onceKey)) {
      scope.onceKeys.add(onceKey)
      scope.addCommitHook(() => signalRelays(scope.db, names.channel))
    }
  }
  return validated.map((m) => m.messageId)
}

function resolveRunner(trx: unknown) {
  const scope = findScope(trx)
  if (scope) return { sql: scope.trx as SqlRunner, scope }
  if (isKysely(trx)) {
    if (trx.isTransaction) return { sql: trx as SqlRunner, scope: undefined }
    throw new NotInTransactionError(
      // Kysely does not say whether a db.transaction().execute() callback is
      // running, so the advice covers the caller who is inside one already.
      'enqueueOnCommit was given the Kysely instance (db), not a transaction, so the message would be published whether or not your data commits: pass the `trx` your callback receives, as in withTransaction(db, async (trx) => { await enqueueOnCommit(trx, message) }) or db.transaction().execute(async (trx) => { await enqueueOnCommit(trx, message) }). Already inside such a callback? Then pass its trx instead of db.',
    )
  }
  if (isPgClient(trx)) {
    if (typeof (trx as { connect?: unknown }).connect === 'function' && typeof (trx as { totalCount?: unknown }).totalCount === 'number') {
      throw new NotInTransactionError(
        "enqueueOnCommit was given a pg.Pool: each pool.query() is its own transaction, so the message would commit on its own. Check out a client (`const client = await pool.connect()`), run `await client.query('BEGIN')`, and pass the client.",
      )
    }
    if (typeof (trx as PgClientLike).getTransactionStatus !== 'function') {
      throw new NotInTransactionError(
        'enqueueOnCommit was given a node-postgres client that cannot say whether it is inside a transaction (node-postgres before 8.21 has no getTransactionStatus()). Upgrade pg to 8.21 or newer, or pass a Kysely transaction.',
      )
    }
    const status = (trx as PgClientLike).getTransactionStatus?.()
    if (status === 'I') {
      throw new NotInTransactionError(
        "enqueueOnCommit was given a node-postgres client that is not inside a transaction. Run `await client.query('BEGIN')` first, and COMMIT after enqueueing.",
      )
    }
    if (status === 'E') {
      throw new NotInTransactionError('enqueueOnCommit was given a node-postgres client whose transaction has failed: roll it back (ROLLBACK) and start again.')
    }
    return { sql: trx as SqlRunner, scope: undefined }
  }
  throw new NotInTransactionError(
    'enqueueOnCommit(trx, message): trx must be a transaction from withTransaction, a Kysely transaction, or a node-postgres client inside BEGIN.',
  )
}
