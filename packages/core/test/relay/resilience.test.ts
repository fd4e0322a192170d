import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, terminateBackends, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

const t = useTestDatabase('relay_resilience')
const opts = () => ({ schema: t.schema })
const enqueue = (n: number, topic = 'r') =>
  withTransaction(t.db, (trx) => enqueueOnCommit(trx, Array.from({ length: n }, (_, i) => ({ topic, key: `k${i % 5}`, payload: i })), opts()))
/**
 * A commit that only LISTEN can hear, as a writer in another process's: a
 * transaction txbox does not open has no commit hook to wake this process's
 * relays, so the NOTIFY sent inside it is the only signal.
 */
const enqueueSignalledByNotifyOnly = (topic: string) =>
  t.db.transaction().execute((trx) => enqueueOnCommit(trx, { topic, payload: 1 }, { ...opts(), notify: 'in-transaction' }))
const backlog = async () => Number((await sql<{ n: string }>`select count(*) as n from ${sql.id(t.schema, 'outbox')}`.execute(t.db)).rows[0]?.n)

beforeAll(async () => {
  await migrate(t.db, opts())
})
beforeEach(async () => {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
})

/**
 * Holds the relay's first batch at the publisher, terminates every database
 * session of the relay (the claim transaction is open, its rows deleted but
 * not committed), then lets it go on: the relay must report the error,
 * survive, and publish everything, the rolled-back batch again.
 */
async function terminateMidBatch(app: string, relayDb: ReturnType<typeof separatePool>, guard: { listen: unknown } | { pool: unknown }) {
  const publisher = recordingPublisher()
  // One batch in flight, so that the duplicates are bounded by one batch.
  const relay = createRelay({ db: relayDb.db, publisher, ...opts(), pollInterval: 20, batchSize: 20, concurrency: 1, ...(guard as object) })
  const errors: Error[] = []
  relay.on('error', (e) => errors.push(e))
  const ids = new Set(await enqueue(100))
  const release = publisher.hold()
  await relay.start()
  try {
    await waitFor(() => publisher.calls.length === 1)
    expect(await terminateBackends(t.db, app)).toBeGreaterThan(0)
    release()
    await waitFor(() => errors.length > 0)
    await waitFor(async () => (await backlog()) === 0, { timeoutMs: 15_000 })
  } finally {
    await relay.stop()
  }
  const published = new Set(publisher.confirmed.map((m) => m.messageId))
  expect([...ids].filter((id) => !published.has(id))).toEqual([]) // nothing lost
  // The batch in flight rolled back with the connection and was published again: duplicates, not losses.
  expect(publisher.confirmed.length - ids.size).toBeLessThanOrEqual(20)
}

describe('a lost database connection never crashes the relay or loses a message', () => {
  const withListen = separatePool(t, 'relay_resilience_terminated', 2)
  const withPool = separatePool(t, 'relay_resilience_pool_only', 2)
  afterAll(async () => {
    await withListen.close()
    await withPool.close()
  })

  test('a relay given `listen: pool` whose connection is terminated mid-batch reports the error, recovers, and publishes everything', async () => {
    await terminateMidBatch('relay_resilience_terminated', withListen, { listen: withListen.pool })
  })

  test('a relay given only `pool` survives the same, including clients the pool made before the relay existed', async () => {
    await sql`select 1`.execute(withPool.db)
    await terminateMidBatch('relay_resilience_pool_only', withPool, { pool: withPool.pool })
  })
})

describe('wake-up', () => {
  const app = 'relay_resilience_listen'
  const relayDb = separatePool(t, app, 3)
  afterAll(() => relayDb.close())

  test('a commit wakes a relay that listens, long before its poll interval; after its LISTEN connection is cut, it reconnects', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), pollInterval: 60_000, listen: relayDb.pool })
    relay.on('error', () => {})
    await relay.start()
    try {
      const started = Date.now()
      await enqueueSignalledByNotifyOnly('wake')
      await waitFor(() => publisher.confirmed.length === 1, { timeoutMs: 5000 })
      expect(Date.now() - started).toBeLessThan(5000)

      // Cut every connection of the relay, the LISTEN one included, and wait
      // for a new backend (not one of the dying ones) to be listening.
      const before = (await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = ${app}`.execute(t.db)).rows.map((r) => r.pid)
      await waitFor(async () => (await terminateBackends(t.db, app)) > 0)
      await waitFor(async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where application_name = ${app} and query like 'LISTEN%' and not (pid = any(${before}::int[]))`.execute(t.db)
        return (rows[0]?.n ?? 0) > 0
      }, { timeoutMs: 10_000 })
      await enqueueSignalledByNotifyOnly('wake again')
      await waitFor(() => publisher.confirmed.length === 2, { timeoutMs: 5000 })
    } finally {
      await relay.stop()
    }
  })

  test('without a signal (notify: false) a relay finds messages by polling', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), pollInterval: 50 })
    await relay.start()
    try {
      await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'polled', payload: 1 }, { ...opts(), notify: false }))
      await waitFor(() => publisher.confirmed.length === 1, { timeoutMs: 5000 })
    } finally {
      await relay.stop()
    }
  })
})
