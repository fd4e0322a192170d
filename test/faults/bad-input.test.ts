import {
  createRelay,
  enqueueOnCommit,
  InvalidIdentifierError,
  InvalidMessageError,
  InvalidOptionError,
  migrate,
  NotInTransactionError,
  onCommit,
  onRollback,
  PayloadNotJsonError,
  PayloadTooLargeError,
  type Publisher,
  processOnce,
  pruneInbox,
  SchemaNotMigratedError,
  TxboxError,
  withTransaction,
} from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { type Kysely, sql, type Transaction } from 'kysely'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Scenario 8 of docs/fault-tests.md: every public function of @txbox/core,
// called with each kind of wrong argument (wrong types, empty, huge, cyclic,
// bad identifiers, unknown options). Each call must fail with a typed error
// (a TxboxError of the expected class and code); a call made inside the
// caller's transaction must leave it usable (for its own queries when the
// error came before any SQL, and always for its own rollback); and no
// committed row may be lost or altered.
const t = useTestDatabase('f_bad_input', { poolSize: 4 })
let pgClient: pg.Client

type ErrorClass = abstract new (...args: any[]) => TxboxError
interface Context {
  readonly db: Kysely<any>
  /** The caller's transaction (withTransaction), for calls made inside one; `db` for calls made outside. */
  readonly trx: Transaction<any>
  readonly pgClient: pg.Client
}
interface BadCall {
  readonly fn: string
  readonly what: string
  readonly error: ErrorClass
  readonly call: (ctx: Context) => unknown
  /** The call reaches the database before failing (so the caller's transaction is aborted, though it can still roll back). */
  readonly afterSql?: boolean
  /** Made outside any transaction (inside one, `db` itself stands for the open transaction). */
  readonly outside?: boolean
}

const good = { topic: 't', payload: { ok: true } }
const cyclic = (() => {
  const o: Record<string, unknown> = { a: 1 }
  o.self = o
  return o
})()
const huge = 'x'.repeat(1024 * 1024 + 1)
const publisher: Publisher = { publish: async (ms) => ms.map(() => ({ ok: true as const })) }
const noop = async () => {}

/** Bad identifiers for schema and table names: empty, upper case, injection, too long, not a string. */
const badIdentifiers: readonly [string, unknown][] = [
  ['empty', ''],
  ['upper case', 'Outbox'],
  ['quote injection', 'x"; drop table business; --'],
  ['space', 'my schema'],
  ['too long', 'a'.repeat(49)],
  ['number', 42],
  ['object', {}],
]

/** Valid names that clash in the schema's namespace (tables, indexes and constraints share it). */
const clashingTableSets: readonly [string, object][] = [
  ['outboxTable and deadTable the same', { outboxTable: 'events', deadTable: 'events' }],
  ["inboxTable named like the outbox's index", { outboxTable: 'events', inboxTable: 'events_ready_idx' }],
]

function enqueue(message: unknown, options?: unknown) {
  return (c: Context) => enqueueOnCommit(c.trx, message as never, options as never)
}

const cases: BadCall[] = [
  // enqueueOnCommit: the message
  { fn: 'enqueueOnCommit', what: 'message undefined', error: InvalidMessageError, call: enqueue(undefined) },
  { fn: 'enqueueOnCommit', what: 'message null', error: InvalidMessageError, call: enqueue(null) },
  { fn: 'enqueueOnCommit', what: 'message a string', error: InvalidMessageError, call: enqueue('hello') },
  { fn: 'enqueueOnCommit', what: 'message a number', error: InvalidMessageError, call: enqueue(42) },
  { fn: 'enqueueOnCommit', what: 'unknown message field', error: InvalidMessageError, call: enqueue({ ...good, body: 1 }) },
  { fn: 'enqueueOnCommit', what: 'topic missing', error: InvalidMessageError, call: enqueue({ payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'topic empty', error: InvalidMessageError, call: enqueue({ topic: '', payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'topic blank', error: InvalidMessageError, call: enqueue({ topic: '   ', payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'topic a number', error: InvalidMessageError, call: enqueue({ topic: 7, payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'topic huge', error: InvalidMessageError, call: enqueue({ topic: 't'.repeat(10_000), payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'topic with a NUL character', error: InvalidMessageError, call: enqueue({ topic: 'a\u0000b', payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'key empty', error: InvalidMessageError, call: enqueue({ ...good, key: '' }) },
  { fn: 'enqueueOnCommit', what: 'key a number', error: InvalidMessageError, call: enqueue({ ...good, key: 42 }) },
  { fn: 'enqueueOnCommit', what: 'key huge', error: InvalidMessageError, call: enqueue({ ...good, key: 'k'.repeat(2000) }) },
  { fn: 'enqueueOnCommit', what: 'key with a NUL character', error: InvalidMessageError, call: enqueue({ ...good, key: 'k\u0000' }) },
  { fn: 'enqueueOnCommit', what: 'messageId empty', error: InvalidMessageError, call: enqueue({ ...good, messageId: '' }) },
  { fn: 'enqueueOnCommit', what: 'messageId an object', error: InvalidMessageError, call: enqueue({ ...good, messageId: {} }) },
  { fn: 'enqueueOnCommit', what: 'messageId huge', error: InvalidMessageError, call: enqueue({ ...good, messageId: 'm'.repeat(300) }) },
  { fn: 'enqueueOnCommit', what: 'messageId with a NUL character', error: InvalidMessageError, call: enqueue({ ...good, messageId: 'm\u0000' }) },
  { fn: 'enqueueOnCommit', what: 'payload missing', error: InvalidMessageError, call: enqueue({ topic: 't' }) },
  { fn: 'enqueueOnCommit', what: 'payload undefined', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: undefined }) },
  { fn: 'enqueueOnCommit', what: 'payload cyclic', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: cyclic }) },
  { fn: 'enqueueOnCommit', what: 'payload a function', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: noop }) },
  { fn: 'enqueueOnCommit', what: 'payload holding a BigInt', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { n: 1n } }) },
  { fn: 'enqueueOnCommit', what: 'payload holding a symbol', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { s: Symbol('s') } }) },
  { fn: 'enqueueOnCommit', what: 'payload holding NaN', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { n: Number.NaN } }) },
  { fn: 'enqueueOnCommit', what: 'payload holding Infinity', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: [Number.POSITIVE_INFINITY] }) },
  { fn: 'enqueueOnCommit', what: 'payload holding U+0000', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { s: 'a\u0000' } }) },
  { fn: 'enqueueOnCommit', what: 'payload over 1 MiB', error: PayloadTooLargeError, call: enqueue({ topic: 't', payload: huge }) },
  { fn: 'enqueueOnCommit', what: 'payload over maxPayloadBytes', error: PayloadTooLargeError, call: enqueue({ topic: 't', payload: 'abcdef' }, { maxPayloadBytes: 4 }) },
  { fn: 'enqueueOnCommit', what: 'headers a string', error: InvalidMessageError, call: enqueue({ ...good, headers: 'x' }) },
  { fn: 'enqueueOnCommit', what: 'header value a number', error: InvalidMessageError, call: enqueue({ ...good, headers: { a: 1 } }) },
  { fn: 'enqueueOnCommit', what: 'header value cyclic', error: InvalidMessageError, call: enqueue({ ...good, headers: { a: cyclic } }) },
  { fn: 'enqueueOnCommit', what: 'reserved txbox- header', error: InvalidMessageError, call: enqueue({ ...good, headers: { 'txbox-key': 'x' } }) },
  { fn: 'enqueueOnCommit', what: 'delay negative', error: InvalidMessageError, call: enqueue({ ...good, delay: -1 }) },
  { fn: 'enqueueOnCommit', what: 'delay NaN', error: InvalidMessageError, call: enqueue({ ...good, delay: Number.NaN }) },
  { fn: 'enqueueOnCommit', what: 'delay a string', error: InvalidMessageError, call: enqueue({ ...good, delay: '5s' }) },
  { fn: 'enqueueOnCommit', what: 'availableAt an invalid Date', error: InvalidMessageError, call: enqueue({ ...good, availableAt: new Date('nope') }) },
  { fn: 'enqueueOnCommit', what: 'availableAt a string', error: InvalidMessageError, call: enqueue({ ...good, availableAt: '2030-01-01' }) },
  { fn: 'enqueueOnCommit', what: 'both delay and availableAt', error: InvalidMessageError, call: enqueue({ ...good, delay: 5, availableAt: new Date() }) },
  // Over what an AMQP short string holds: 255 BYTES of UTF-8, not characters.
  { fn: 'enqueueOnCommit', what: 'topic of 200 × "é" (400 bytes)', error: InvalidMessageError, call: enqueue({ topic: 'é'.repeat(200), payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'key of 128 × "é" (256 bytes)', error: InvalidMessageError, call: enqueue({ ...good, key: 'é'.repeat(128) }) },
  { fn: 'enqueueOnCommit', what: 'messageId of 64 emoji (256 bytes)', error: InvalidMessageError, call: enqueue({ ...good, messageId: '😀'.repeat(64) }) },
  { fn: 'enqueueOnCommit', what: 'header name of 256 bytes', error: InvalidMessageError, call: enqueue({ ...good, headers: { [`x-${'é'.repeat(127)}`]: 'v' } }) },
  { fn: 'enqueueOnCommit', what: 'header name empty', error: InvalidMessageError, call: enqueue({ ...good, headers: { '': 'v' } }) },
  { fn: 'enqueueOnCommit', what: 'headers a Map', error: InvalidMessageError, call: enqueue({ ...good, headers: new Map([['a', 'b']]) }) },
  // What PostgreSQL cannot store: each used to abort the caller's transaction with a DatabaseError, or be stored altered.
  { fn: 'enqueueOnCommit', what: 'payload string with a lone surrogate', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { s: 'cut\uD83D' } }) },
  { fn: 'enqueueOnCommit', what: 'payload property name with a lone surrogate', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { 'k\uDE00': 1 } }) },
  { fn: 'enqueueOnCommit', what: 'payload property name with U+0000', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { 'a\u0000': 1 } }) },
  { fn: 'enqueueOnCommit', what: 'header name with U+0000', error: InvalidMessageError, call: enqueue({ ...good, headers: { 'x\u0000': 'v' } }) },
  { fn: 'enqueueOnCommit', what: 'header name with a lone surrogate', error: InvalidMessageError, call: enqueue({ ...good, headers: { 'x\uD800': 'v' } }) },
  { fn: 'enqueueOnCommit', what: 'header value with a lone surrogate', error: InvalidMessageError, call: enqueue({ ...good, headers: { x: '\uDFFF' } }) },
  { fn: 'enqueueOnCommit', what: 'topic with a lone surrogate', error: InvalidMessageError, call: enqueue({ topic: 't\uD83D', payload: 1 }) },
  { fn: 'enqueueOnCommit', what: 'key with a lone surrogate', error: InvalidMessageError, call: enqueue({ ...good, key: 'k\uD83D' }) },
  { fn: 'enqueueOnCommit', what: 'messageId with a lone surrogate', error: InvalidMessageError, call: enqueue({ ...good, messageId: 'm\uD83D' }) },
  { fn: 'enqueueOnCommit', what: 'delay 1e300', error: InvalidMessageError, call: enqueue({ ...good, delay: 1e300 }) },
  { fn: 'enqueueOnCommit', what: 'delay past the latest Date', error: InvalidMessageError, call: enqueue([good, { ...good, delay: 8.64e15 }]) },
  { fn: 'enqueueOnCommit', what: 'availableAt before 4713 BC', error: InvalidMessageError, call: enqueue({ ...good, availableAt: new Date(-8.64e15) }) },
  { fn: 'enqueueOnCommit', what: 'payload holding a Map', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { m: new Map() } }) },
  { fn: 'enqueueOnCommit', what: 'payload getter that throws', error: PayloadNotJsonError, call: enqueue({ topic: 't', payload: { get x() { throw new Error('boom') } } }) },
  { fn: 'enqueueOnCommit', what: 'message getter that throws', error: InvalidMessageError, call: enqueue({ topic: 't', get payload() { throw new Error('boom') } }) },
  // biome-ignore lint/suspicious/noSparseArray: the hole is the bad input
  { fn: 'enqueueOnCommit', what: 'a hole in the array of messages', error: InvalidMessageError, call: enqueue([good, , good]) },
  { fn: 'enqueueOnCommit', what: 'one bad message in an array of good ones', error: InvalidMessageError, call: enqueue([good, good, { topic: '' }, good]) },
  { fn: 'enqueueOnCommit', what: 'array of 10001 messages', error: InvalidMessageError, call: enqueue(Array.from({ length: 10_001 }, () => good)) },
  // enqueueOnCommit: options
  { fn: 'enqueueOnCommit', what: 'options null', error: InvalidOptionError, call: enqueue(good, null) },
  { fn: 'enqueueOnCommit', what: 'unknown option', error: InvalidOptionError, call: enqueue(good, { shema: 'x' }) },
  { fn: 'enqueueOnCommit', what: 'maxPayloadBytes 0', error: InvalidOptionError, call: enqueue(good, { maxPayloadBytes: 0 }) },
  { fn: 'enqueueOnCommit', what: 'maxPayloadBytes over 32 MiB', error: InvalidOptionError, call: enqueue(good, { maxPayloadBytes: 64 * 1024 * 1024 }) },
  { fn: 'enqueueOnCommit', what: 'maxPayloadBytes a string', error: InvalidOptionError, call: enqueue(good, { maxPayloadBytes: '1mb' }) },
  { fn: 'enqueueOnCommit', what: 'notify unknown mode', error: InvalidOptionError, call: enqueue(good, { notify: 'yes' }) },
  ...badIdentifiers.flatMap(([what, name]): BadCall[] => [
    { fn: 'enqueueOnCommit', what: `schema ${what}`, error: InvalidIdentifierError, call: enqueue(good, { schema: name }) },
    { fn: 'enqueueOnCommit', what: `outboxTable ${what}`, error: InvalidIdentifierError, call: enqueue(good, { outboxTable: name }) },
  ]),
  ...clashingTableSets.map(([what, tables]): BadCall => ({ fn: 'enqueueOnCommit', what, error: InvalidIdentifierError, call: enqueue(good, tables) })),
  { fn: 'enqueueOnCommit', what: 'schema not migrated', error: SchemaNotMigratedError, afterSql: true, call: enqueue(good, { schema: 'txbox_fault_nowhere' }) },
  // enqueueOnCommit: the transaction
  { fn: 'enqueueOnCommit', what: 'the Kysely instance outside a transaction', error: NotInTransactionError, outside: true, call: (c) => enqueueOnCommit(c.db, good) },
  { fn: 'enqueueOnCommit', what: 'trx null', error: NotInTransactionError, call: () => enqueueOnCommit(null as never, good) },
  { fn: 'enqueueOnCommit', what: 'trx a plain object', error: NotInTransactionError, call: () => enqueueOnCommit({} as never, good) },
  { fn: 'enqueueOnCommit', what: 'a pg client not inside BEGIN', error: NotInTransactionError, call: (c) => enqueueOnCommit(c.pgClient, good) },

  // onCommit / onRollback
  ...(['onCommit', 'onRollback'] as const).flatMap((fn): BadCall[] => {
    const register = fn === 'onCommit' ? onCommit : onRollback
    return [
      { fn, what: 'the Kysely instance outside a transaction', error: NotInTransactionError, outside: true, call: (c) => register(c.db, noop) },
      { fn, what: 'trx null', error: NotInTransactionError, call: () => register(null as never, noop) },
      { fn, what: 'trx a plain object', error: NotInTransactionError, call: () => register({} as never, noop) },
      { fn, what: 'hook missing', error: InvalidOptionError, call: (c) => register(c.trx, undefined as never) },
      { fn, what: 'hook a string', error: InvalidOptionError, call: (c) => register(c.trx, 'run me' as never) },
    ]
  }),

  // withTransaction
  { fn: 'withTransaction', what: 'db null', error: InvalidOptionError, call: () => withTransaction(null as never, noop) },
  { fn: 'withTransaction', what: 'db a connection string', error: InvalidOptionError, call: () => withTransaction('postgres://x' as never, noop) },
  { fn: 'withTransaction', what: 'fn missing', error: InvalidOptionError, call: (c) => withTransaction(c.db, undefined as never) },
  { fn: 'withTransaction', what: 'options null', error: InvalidOptionError, call: (c) => withTransaction(c.db, noop, null as never) },
  { fn: 'withTransaction', what: 'unknown option', error: InvalidOptionError, call: (c) => withTransaction(c.db, noop, { isolation: 'serializable' } as never) },
  { fn: 'withTransaction', what: 'isolationLevel unknown', error: InvalidOptionError, call: (c) => withTransaction(c.db, noop, { isolationLevel: 'chaos' } as never) },
  { fn: 'withTransaction', what: 'accessMode unknown', error: InvalidOptionError, call: (c) => withTransaction(c.db, noop, { accessMode: 'rw' } as never) },
  { fn: 'withTransaction', what: 'onHookError a string', error: InvalidOptionError, call: (c) => withTransaction(c.db, noop, { onHookError: 'log' } as never) },
  { fn: 'withTransaction', what: 'nested with a bad option', error: InvalidOptionError, call: (c) => withTransaction(c.trx, noop, { nope: 1 } as never) },

  // migrate
  { fn: 'migrate', what: 'options null', error: InvalidOptionError, call: (c) => migrate(c.db, null as never) },
  { fn: 'migrate', what: 'unknown option', error: InvalidOptionError, call: (c) => migrate(c.db, { schemaName: 'x' } as never) },
  ...badIdentifiers.map(([what, name]): BadCall => ({ fn: 'migrate', what: `schema ${what}`, error: InvalidIdentifierError, call: (c) => migrate(c.db, { schema: name as string }) })),
  ...badIdentifiers.map(([what, name]): BadCall => ({ fn: 'migrate', what: `inboxTable ${what}`, error: InvalidIdentifierError, call: (c) => migrate(c.db, { inboxTable: name as string }) })),
  { fn: 'migrate', what: 'db null', error: InvalidOptionError, call: () => migrate(null as never) },
  ...clashingTableSets.map(([what, tables]): BadCall => ({ fn: 'migrate', what, error: InvalidIdentifierError, call: (c) => migrate(c.db, { schema: t.schema, ...tables }) })),
  {
    fn: 'migrate',
    what: "a new outbox on another outbox's dead-letter table",
    error: InvalidOptionError,
    call: (c) => migrate(c.db, { schema: t.schema, outboxTable: 'fault_second_outbox' }),
  },

  // createRelay and its options
  ...(() => {
    const relay = (options: unknown) => (c: Context) => createRelay({ db: c.db, publisher, ...(options as object) } as never)
    const invalid: [string, Record<string, unknown>][] = [
      ['batchSize 0', { batchSize: 0 }],
      ['batchSize negative', { batchSize: -5 }],
      ['batchSize fractional', { batchSize: 1.5 }],
      ['batchSize a string', { batchSize: '100' }],
      ['batchSize huge', { batchSize: 1e9 }],
      ['concurrency 0', { concurrency: 0 }],
      ['concurrency huge', { concurrency: 1000 }],
      ['lanesPerClaim 65', { lanesPerClaim: 65 }],
      ['pollInterval 0', { pollInterval: 0 }],
      ['pollInterval NaN', { pollInterval: Number.NaN }],
      ['maxAttempts 0', { maxAttempts: 0 }],
      ['publishTimeout Infinity', { publishTimeout: Number.POSITIVE_INFINITY }],
      ['backoff a string', { backoff: 'exponential' }],
      ['backoff initialDelay negative', { backoff: { initialDelay: -1 } }],
      ['backoff multiplier below 1', { backoff: { multiplier: 0.5 } }],
      ['blockKeyOnFailure a string', { blockKeyOnFailure: 'yes' }],
      ['logger without methods', { logger: {} }],
      ['listen without connect', { listen: {} }],
      ['unknown option', { batchsize: 10 }],
      ['db missing', { db: undefined }],
      ['db a plain object', { db: {} }],
      ['publisher missing', { publisher: undefined }],
      ['publisher without publish', { publisher: { send: noop } }],
    ]
    const out: BadCall[] = invalid.map(([what, options]) => ({ fn: 'createRelay', what, error: InvalidOptionError, call: relay(options) }))
    out.push({ fn: 'createRelay', what: 'options null', error: InvalidOptionError, call: () => createRelay(null as never) })
    out.push({ fn: 'createRelay', what: 'options a string', error: InvalidOptionError, call: () => createRelay('relay' as never) })
    for (const [what, name] of badIdentifiers) {
      out.push({ fn: 'createRelay', what: `schema ${what}`, error: InvalidIdentifierError, call: relay({ schema: name }) })
      out.push({ fn: 'createRelay', what: `deadTable ${what}`, error: InvalidIdentifierError, call: relay({ deadTable: name }) })
    }
    out.push({
      fn: 'createRelay',
      what: 'start() on a schema not migrated',
      error: SchemaNotMigratedError,
      call: (c) => createRelay({ db: c.db, publisher, schema: 'txbox_fault_nowhere' }).start(),
    })
    return out
  })(),

  // processOnce
  { fn: 'processOnce', what: 'messageId empty', error: InvalidOptionError, call: (c) => processOnce(c.db, '', noop) },
  { fn: 'processOnce', what: 'messageId a number', error: InvalidOptionError, call: (c) => processOnce(c.db, 42 as never, noop) },
  { fn: 'processOnce', what: 'messageId undefined', error: InvalidOptionError, call: (c) => processOnce(c.db, undefined as never, noop) },
  { fn: 'processOnce', what: 'handler missing', error: InvalidOptionError, call: (c) => processOnce(c.db, 'm1', undefined as never) },
  { fn: 'processOnce', what: 'options null', error: InvalidOptionError, call: (c) => processOnce(c.db, 'm1', noop, null as never) },
  { fn: 'processOnce', what: 'unknown option', error: InvalidOptionError, call: (c) => processOnce(c.db, 'm1', noop, { consumerName: 'x' } as never) },
  { fn: 'processOnce', what: 'consumer a number', error: InvalidOptionError, call: (c) => processOnce(c.db, 'm1', noop, { consumer: 7 } as never) },
  { fn: 'processOnce', what: 'isolationLevel unknown', error: InvalidOptionError, call: (c) => processOnce(c.db, 'm1', noop, { isolationLevel: 'chaos' } as never) },
  { fn: 'processOnce', what: 'db null', error: InvalidOptionError, call: () => processOnce(null as never, 'm1', noop) },
  ...badIdentifiers.map(([what, name]): BadCall => ({ fn: 'processOnce', what: `schema ${what}`, error: InvalidIdentifierError, call: (c) => processOnce(c.db, 'm1', noop, { schema: name as string }) })),
  { fn: 'processOnce', what: 'schema not migrated', error: SchemaNotMigratedError, call: (c) => processOnce(c.db, 'm1', noop, { schema: 'txbox_fault_nowhere' }) },

  // pruneInbox
  { fn: 'pruneInbox', what: 'db null', error: InvalidOptionError, call: () => pruneInbox(null as never, { olderThan: 0 }) },
  { fn: 'pruneInbox', what: 'options missing', error: InvalidOptionError, call: (c) => pruneInbox(c.db, undefined as never) },
  { fn: 'pruneInbox', what: 'olderThan missing', error: InvalidOptionError, call: (c) => pruneInbox(c.db, {} as never) },
  { fn: 'pruneInbox', what: 'olderThan negative', error: InvalidOptionError, call: (c) => pruneInbox(c.db, { olderThan: -1 }) },
  { fn: 'pruneInbox', what: 'olderThan a string', error: InvalidOptionError, call: (c) => pruneInbox(c.db, { olderThan: '7d' } as never) },
  { fn: 'pruneInbox', what: 'olderThan an invalid Date', error: InvalidOptionError, call: (c) => pruneInbox(c.db, { olderThan: new Date('nope') }) },
  { fn: 'pruneInbox', what: 'unknown option', error: InvalidOptionError, call: (c) => pruneInbox(c.db, { olderThan: 0, all: true } as never) },
  { fn: 'pruneInbox', what: 'schema quote injection', error: InvalidIdentifierError, call: (c) => pruneInbox(c.db, { olderThan: 0, schema: 'x"; drop table business; --' }) },
]

/** Everything committed: outbox, dead letters, inbox and the caller's own table, as text. */
async function committedState(): Promise<string> {
  const table = (name: string) => sql<{ rows: unknown }>`select coalesce(json_agg(x order by x::text), '[]')::text as rows from ${sql.table(`${t.schema}.${name}`)} x`
  const parts: unknown[] = []
  for (const name of ['outbox', 'outbox_dead', 'inbox', 'business']) parts.push((await table(name).execute(t.db)).rows[0]?.rows)
  return JSON.stringify(parts)
}

let before = ''

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  await sql`create table ${sql.table(`${t.schema}.business`)} (id serial primary key, note text not null)`.execute(t.db)
  await withTransaction(t.db, async (trx) => {
    await trx.insertInto(`${t.schema}.business`).values([{ note: 'a' }, { note: 'b' }]).execute()
    await enqueueOnCommit(
      trx,
      [
        { topic: 'seed', key: 'k', payload: { n: 1 }, headers: { 'x-h': 'v' } },
        { topic: 'seed', payload: [1, 'two', null] },
        { topic: 'seed', key: 'k', payload: 'later', delay: 3_600_000 },
      ],
      { schema: t.schema },
    )
  })
  await processOnce(t.db, 'seed-message', noop, { schema: t.schema, consumer: 'seed' })
  await sql`insert into ${sql.table(`${t.schema}.outbox_dead`)} (id, message_id, topic, payload, attempts, last_error, created_at)
    values (999999, 'dead-seed', 'seed', '{"d":1}', 3, 'boom', now())`.execute(t.db)
  pgClient = await t.client()
  before = await committedState()
})
const typedErrors = new Map<string, number>()
afterAll(async () => {
  await pgClient?.end()
  const total = [...typedErrors.values()].reduce((a, b) => a + b, 0)
  const byClass = [...typedErrors].map(([name, n]) => `${name}=${n}`).join(' ')
  console.log(`[fault] bad input: calls=${cases.length} typedErrors=${total} ${byClass} committedRowsChanged=${(await committedState()) === before ? 0 : 'yes'}`)
})

class CallerRollback extends Error {}

async function capture(call: () => unknown): Promise<unknown> {
  try {
    await call()
  } catch (error) {
    return error
  }
  return undefined
}

describe('bad input to @txbox/core', () => {
  it.each(cases)('$fn: $what → a typed error; the caller can still roll back; nothing committed changes', async (c) => {
    let error: unknown
    let usableAfter = false
    const probe = `probe ${c.fn} ${c.what}`
    if (c.outside) {
      error = await capture(() => c.call({ db: t.db, trx: t.db as Transaction<any>, pgClient }))
      usableAfter = true
    } else await withTransaction(t.db, async (trx) => {
      await trx.insertInto(`${t.schema}.business`).values({ note: probe }).execute()
      error = await capture(() => c.call({ db: t.db, trx, pgClient }))
      if (!c.afterSql) {
        // The error came before any SQL of the caller's transaction: it carries on.
        const row = await trx.selectFrom(`${t.schema}.business`).select('note').where('note', '=', probe).executeTakeFirst()
        usableAfter = row?.note === probe
      }
      throw new CallerRollback()
    }).catch((e) => {
      if (!(e instanceof CallerRollback)) throw e
    })

    expect(error, 'the call did not throw').toBeDefined()
    expect(error, `not a TxboxError: ${String(error)}`).toBeInstanceOf(TxboxError)
    expect(error).toBeInstanceOf(c.error)
    const name = (error as TxboxError).name
    typedErrors.set(name, (typedErrors.get(name) ?? 0) + 1)
    expect((error as TxboxError).message.length).toBeGreaterThan(20)
    if (!c.afterSql) expect(usableAfter, "the caller's transaction could not run its own query after the error").toBe(true)
    // The caller's rollback took its probe row with it, and nothing committed changed.
    expect(await committedState()).toBe(before)
  })
})
