import { InvalidMessageError } from '../errors/invalid-message-error.js'
import { NotInTransactionError } from '../errors/not-in-transaction-error.js'
import { PayloadTooLargeError } from '../errors/payload-too-large-error.js'
import type { Executor } from '../executors/executor.js'
import { pickExecutor, SUPPORTED_HANDLES } from '../executors/pick-executor.js'
import type { OptionDeclaration } from '../options/option-declaration.js'
import { integer, oneOf } from '../options/option-kinds.js'
import { resolveOptions } from '../options/resolve-options.js'
import { resolveTableNames, TABLE_OPTIONS, type TableOptions } from '../schema/table-names.js'
import { runSqlThrough } from '../sql/run-sql.js'
import { createSpans } from '../tracing/create-spans.js'
import { findScope, type TransactionScope } from '../transaction/transaction-scope.js'
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
   * - `'after-commit'` (default): the commit wakes the relays running in this
   *   process directly, and one NOTIFY after the commit, at most once per 5 ms
   *   per process, wakes those of other processes (if they LISTEN). Needs a
   *   transaction opened by withTransaction; for others nothing is sent and
   *   relays find the messages when they poll.
   * - `'in-transaction'`: a NOTIFY inside the transaction. Works with any
   *   transaction, but serialises commits database-wide (see docs/operations).
   *   Inside withTransaction the commit also wakes this process's relays.
   * - `false`: no signal, not even to this process's relays.
   */
  notify?: NotifyMode
}

/**
 * The largest `maxPayloadBytes` accepted. A jsonb value holds at most 256 MiB,
 * and its binary form can take 6 times the JSON text (measured: `[0,0,…]`
 * takes 12 bytes per element in jsonb for 2 of text), so 32 MiB of JSON always
 * fits. Brokers refuse far less by default (RabbitMQ 4: 16 MiB).
 */
const MAX_PAYLOAD_BYTES_LIMIT = 32 * 1024 * 1024

/** The options of {@link enqueueOnCommit}, declared once. */
export const ENQUEUE_OPTIONS = {
  maxPayloadBytes: integer({
    min: 1,
    max: MAX_PAYLOAD_BYTES_LIMIT,
    maxNote: "32 MiB, what PostgreSQL's jsonb surely holds",
    default: 1024 * 1024,
    description: 'Largest accepted payload, in bytes of JSON text.',
    hint: 'Store larger data in your own table or object storage and enqueue a reference to it.',
  }),
  notify: oneOf<NotifyMode, { default: 'after-commit'; description: string }>(['after-commit', 'in-transaction', false], {
    default: 'after-commit',
    description: 'How relays learn about the new messages (they also poll, so this only changes latency).',
  }),
  ...TABLE_OPTIONS,
} as const satisfies Record<keyof EnqueueOptions, OptionDeclaration<any>>
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
 * inside its callback), a Kysely transaction from `db.transaction()`, a
 * node-postgres client inside `BEGIN`, or the transaction handle another ORM
 * hands out, as it is: Prisma's interactive `tx`, Drizzle's `tx`
 * (node-postgres or postgres.js), a TypeORM EntityManager or QueryRunner in
 * a transaction, knex's `trx`, MikroORM's transactional `em`, a Sequelize
 * Transaction, postgres.js's `sql` from `sql.begin`. A handle outside a
 * transaction (a root client) throws NotInTransactionError naming the call
 * that opens one. Bad input throws a typed error before any SQL runs
 * (see {@link OutboxMessageInput} for the limits; one call carries at most
 * 10,000 messages and 128 MiB of JSON).
 */
export async function enqueueOnCommit(
  trx: object,
  messages: OutboxMessageInput | readonly OutboxMessageInput[],
  options: EnqueueOptions = {},
): Promise<string[]> {
  const { maxPayloadBytes, notify, ...tables } = resolveOptions('enqueueOnCommit', ENQUEUE_OPTIONS, options)
  const names = resolveTableNames(tables)

  const list = Array.isArray(messages) ? (messages as readonly OutboxMessageInput[]) : [messages as OutboxMessageInput]
  if (Array.isArray(messages) && list.length > MAX_BATCH) {
    throw new InvalidMessageError('messages', `enqueueOnCommit accepts at most ${MAX_BATCH} messages per call, got ${list.length}: split the array.`)
  }
  // A loop, not map(): map skips the holes of a sparse array, which then
  // reached the INSERT as NULL message ids.
  const validated: ValidatedMessage[] = []
  const spans = createSpans() // OpenTelemetry `create` spans; undefined without @opentelemetry/api
  let bytes = 0
  for (let i = 0; i < list.length; i++) {
    const m = validateMessage(list[i], Array.isArray(messages) ? `messages[${i}]` : 'message', maxPayloadBytes, spans)
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
  await runSqlThrough(runner.executor, runner.handle, insertStatement(names, validated, inTransactionNotify))
  if (notify !== false && runner.scope) {
    const scope = runner.scope.root
    const onceKey = `notify:${notify}:${names.channel}`
    if (!scope.onceKeys.has(onceKey)) {
      scope.onceKeys.add(onceKey)
      // In-transaction mode has sent its NOTIFY; this process's relays are still woken directly.
      scope.addCommitHook(() => signalRelays(scope.db, scope.executor, names.channel, notify === 'after-commit'))
    }
  }
  spans?.end()
  return validated.map((m) => m.messageId)
}

/** The executor and handle the INSERT runs on, and the withTransaction scope if there is one. */
function resolveRunner(trx: unknown): { executor: Executor; handle: object; scope: TransactionScope | undefined } {
  const scope = findScope(trx)
  if (scope) return { executor: scope.executor, handle: scope.trx, scope }
  const executor = pickExecutor(trx)
  if (!executor) throw new NotInTransactionError(`enqueueOnCommit(trx, message): trx must be ${SUPPORTED_HANDLES}.`)
  const handle = trx as object
  const problem = executor.notInTransaction(handle)
  if (problem !== undefined) throw new NotInTransactionError(problem)
  return { executor, handle, scope: undefined }
}
