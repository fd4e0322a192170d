import { createRelay, enqueueOnCommit, type Logger, migrate, processOnce, withTransaction } from '@txbox/core'
import { type OwnPgBouncer, recordingPublisher, startPgBouncer, useTestDatabase, waitFor } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, expect, test } from 'vitest'

// Enqueue, the relay and the inbox through PgBouncer in transaction mode:
// every transaction may land on another server connection (three of them,
// shared by up to eight clients), so nothing may rely on session state.
// LISTEN is accepted there but never hears a NOTIFY: the relay must notice,
// say so, and poll.
const t = useTestDatabase('pgbouncer')
let bouncer: OwnPgBouncer
let pool: pg.Pool
let db: Kysely<any>

beforeAll(async () => {
  bouncer = await startPgBouncer({ poolMode: 'transaction', poolSize: 3 })
  pool = new pg.Pool({ connectionString: bouncer.url, max: 8 })
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  await migrate(db, { schema: t.schema })
  await sql`create table ${sql.id(t.schema, 'effects')} (message_id text primary key)`.execute(t.db)
}, 120_000)

afterAll(async () => {
  await db?.destroy()
  await bouncer?.close()
})

function capturingLogger(): Logger & { warnings: string[]; debugs: string[] } {
  const warnings: string[] = []
  const debugs: string[] = []
  const noop = () => {}
  return { warnings, debugs, debug: (_fields, message) => debugs.push(message), info: noop, warn: (_fields, message) => warnings.push(message), error: noop }
}

test('enqueue and the relay work through PgBouncer in transaction mode; the relay finds that LISTEN hears nothing, warns and polls; per-key order holds', async () => {
  const logger = capturingLogger()
  const publisher = recordingPublisher()
  const relay = createRelay({ db, publisher, schema: t.schema, listen: pool, pool, concurrency: 2, batchSize: 20, pollInterval: 50, logger })
  await relay.start()
  try {
    // Writers in parallel, several messages of one key per transaction, keys spread over writers.
    const enqueued = await Promise.all(
      Array.from({ length: 8 }, (_, writer) =>
        (async () => {
          const ids: { key: string; id: string }[] = []
          for (let round = 0; round < 10; round++) {
            const key = `k${(writer + round) % 5}`
            const got = await withTransaction(db, (trx) =>
              enqueueOnCommit(trx, [0, 1, 2].map((n) => ({ topic: 'orders', key, payload: { writer, round, n } })), { schema: t.schema }),
            )
            ids.push(...got.map((id) => ({ key, id })))
          }
          return ids
        })(),
      ),
    )
    const total = enqueued.flat().length
    await waitFor(() => publisher.confirmed.length === total, { timeoutMs: 20_000, message: `${total} messages published through PgBouncer` })
    await waitFor(() => logger.warnings.some((w) => /LISTEN receives no notifications.*polling/.test(w)), { timeoutMs: 10_000, message: 'the relay warns that LISTEN does not work' })

    // Per key, published in the order of the outbox sequence, each once.
    const published = publisher.confirmed
    expect(new Set(published.map((m) => m.messageId)).size).toBe(total)
    const byKey = new Map<string, bigint[]>()
    for (const m of published) byKey.set(m.key as string, [...(byKey.get(m.key as string) ?? []), BigInt(m.id)])
    for (const ids of byKey.values()) expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))

    // After the warning, a new message is still found, by polling.
    const [late] = await withTransaction(db, (trx) => enqueueOnCommit(trx, { topic: 'orders', key: 'k0', payload: { late: true } }, { schema: t.schema }))
    await waitFor(() => publisher.confirmed.some((m) => m.messageId === late), { timeoutMs: 10_000, message: 'a message enqueued after the warning is published' })
  } finally {
    await relay.stop()
  }
})

test('on a direct connection the LISTEN self-test passes: the relay keeps listening and wakes at once', async () => {
  const logger = capturingLogger()
  const publisher = recordingPublisher()
  // A poll interval of a minute: only a NOTIFY can bring the message out within the test.
  const relay = createRelay({ db: t.db, publisher, schema: t.schema, listen: t.pool, pollInterval: 60_000, logger })
  await relay.start()
  try {
    await waitFor(() => logger.debugs.includes('txbox relay: LISTEN self-test passed'), { timeoutMs: 10_000, message: 'the self-test passes' })
    // Through a transaction txbox does not open, with its NOTIFY inside: a
    // commit in withTransaction would wake this process's relay directly.
    const [id] = await t.db.transaction().execute((trx) => enqueueOnCommit(trx, { topic: 'direct', payload: {} }, { schema: t.schema, notify: 'in-transaction' }))
    await waitFor(() => publisher.confirmed.some((m) => m.messageId === id), { timeoutMs: 10_000, message: 'woken by the NOTIFY' })
    expect(logger.warnings).toEqual([])
  } finally {
    await relay.stop()
  }
})

test('processOnce works through PgBouncer in transaction mode: a redelivered message is skipped, its effect written once', async () => {
  const messageIds = Array.from({ length: 12 }, (_, i) => `m-${i}`)
  const handle = (messageId: string) =>
    processOnce(db, messageId, async (trx) => {
      await trx.insertInto(`${t.schema}.effects`).values({ message_id: messageId }).execute()
    }, { schema: t.schema })
  // Every message delivered three times, concurrently.
  const results = await Promise.all([...messageIds, ...messageIds, ...messageIds].map(handle))
  expect(results.filter((r) => r.status === 'processed')).toHaveLength(messageIds.length)
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.id(t.schema, 'effects')}`.execute(t.db)
  expect(Number(rows[0]?.n)).toBe(messageIds.length)
})
