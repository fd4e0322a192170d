import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, SchemaNotMigratedError, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

const t = useTestDatabase('relay_delivery')
const schema = () => t.schema
const backlog = async () => Number((await sql<{ n: string }>`select count(*) as n from ${sql.id(t.schema, 'outbox')}`.execute(t.db)).rows[0]?.n)
const relayDb = separatePool(t, 'relay_delivery_relay', 3)

beforeAll(async () => {
  await migrate(t.db, { schema: schema() })
})
beforeEach(async () => {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
})
afterAll(async () => {
  await relayDb.close()
})

describe('a message is published only if its transaction committed, and at least once', () => {
  test('committed messages are all published; rolled-back ones never', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, schema: schema(), pollInterval: 20 })
    const committed: string[] = []
    const rolledBack: string[] = []
    await relay.start()
    try {
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 25; i++) {
            const commit = (w + i) % 3 !== 0
            let ids: string[] = []
            await withTransaction(t.db, async (trx) => {
              ids = await enqueueOnCommit(trx, [
                { topic: 'orders', key: `k${i % 7}`, payload: { w, i } },
                { topic: 'audit', payload: { w, i } },
              ], { schema: schema() })
              if (!commit) throw new Error('roll back')
            }).catch(() => {})
            ;(commit ? committed : rolledBack).push(...ids)
          }
        }),
      )
      await waitFor(() => publisher.confirmed.length >= committed.length, { timeoutMs: 10_000 })
    } finally {
      await relay.stop()
    }
    const published = new Set(publisher.confirmed.map((m) => m.messageId))
    expect(committed.filter((id) => !published.has(id))).toEqual([]) // nothing lost
    expect(rolledBack.filter((id) => published.has(id))).toEqual([]) // nothing phantom
    expect(publisher.confirmed).toHaveLength(committed.length) // no duplicates without failures
    expect(await backlog()).toBe(0)
  })

  test('a backlog published in waves (a few rows per lane per claim) is drained without waiting a poll interval between claims', async () => {
    // Waves take ceil(batchSize / 16) rows per lane: with 5 keys a claim of
    // batchSize 20 returns at most 10. Such a short claim used to be taken
    // for a drained outbox, and the relay slept a poll interval (here a
    // minute) before the next one.
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, Array.from({ length: 200 }, (_, i) => ({ topic: 'waves', key: `k${i % 5}`, payload: i })), { schema: schema() }),
    )
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, schema: schema(), batchSize: 20, pollInterval: 60_000 })
    await relay.start()
    try {
      await waitFor(() => publisher.confirmed.length >= 200, { timeoutMs: 15_000, message: 'all 200 published' })
    } finally {
      await relay.stop()
    }
    expect(publisher.confirmed).toHaveLength(200)
    expect(await backlog()).toBe(0)
  })

  test('runOnce publishes one batch and resolves to the number published', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, schema: schema(), batchSize: 10 })
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, Array.from({ length: 15 }, (_, i) => ({ topic: 'n', payload: i })), { schema: schema() }),
    )
    expect(await relay.runOnce()).toBe(10)
    expect(await relay.runOnce()).toBe(5)
    expect(await relay.runOnce()).toBe(0)
    const m = await relay.metrics()
    expect(m).toMatchObject({ published: 15, failed: 0, deadLettered: 0, backlog: 0, dead: 0 })
  })

  test('the message handed to the publisher carries the enqueued fields, payload as JSON text', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, schema: schema() })
    const [id] = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, { topic: 'user.created', key: 'user:7', payload: { id: 7, name: 'Zoë' }, headers: { 'x-tenant': 'acme' } }, { schema: schema() }),
    )
    await relay.runOnce()
    const m = publisher.confirmed[0] as OutboxMessage
    expect(m).toMatchObject({ messageId: id, topic: 'user.created', key: 'user:7', headers: { 'x-tenant': 'acme' }, attempts: 0 })
    expect(JSON.parse(m.payload)).toEqual({ id: 7, name: 'Zoë' })
    expect(m.createdAt).toBeInstanceOf(Date)
  })

  test('a delayed message is not published before its time', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, schema: schema() })
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'later', payload: 1, delay: 400 }, { schema: schema() }))
    const enqueuedAt = Date.now()
    expect(await relay.runOnce()).toBe(0)
    await waitFor(async () => (await relay.runOnce()) === 1, { timeoutMs: 5000, intervalMs: 50 })
    expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(350)
  })

  test('the claim and settle are a fixed number of statements per batch, whatever its size', async () => {
    const counts: number[] = []
    for (const size of [5, 200]) {
      let statements = 0
      const { Kysely, PostgresDialect } = await import('kysely')
      const counted = new Kysely<any>({
        dialect: new PostgresDialect({ pool: relayDb.pool }),
        log: () => {
          statements += 1
        },
      })
      const publisher = recordingPublisher()
      const relay = createRelay({ db: counted, publisher, schema: schema(), batchSize: 500 })
      await withTransaction(t.db, (trx) =>
        enqueueOnCommit(trx, Array.from({ length: size }, (_, i) => ({ topic: 'count', key: `k${i}`, payload: i })), { schema: schema() }),
      )
      statements = 0
      expect(await relay.runOnce()).toBe(size)
      counts.push(statements)
      expect(publisher.calls).toHaveLength(1) // distinct keys: one publish call for the batch
    }
    expect(counts[0]).toBe(counts[1])
    expect(counts[0]).toBeLessThanOrEqual(4) // promote, begin, claim, commit
  })
})

describe('relay lifecycle', () => {
  test('start and stop are idempotent, and a stopped relay can start again', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, schema: schema(), pollInterval: 20 })
    await relay.stop()
    await Promise.all([relay.start(), relay.start()])
    expect(relay.running).toBe(true)
    await Promise.all([relay.stop(), relay.stop()])
    expect(relay.running).toBe(false)
    await relay.start()
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'again', payload: 1 }, { schema: schema() }))
    await waitFor(() => publisher.confirmed.length === 1)
    await relay.stop()
  })

  test('start() rejects with SchemaNotMigratedError when the tables are missing, and stays stopped', async () => {
    const relay = createRelay({ db: relayDb.db, publisher: recordingPublisher(), schema: 'no_such_txbox_schema' })
    await expect(relay.start()).rejects.toThrow(SchemaNotMigratedError)
    expect(relay.running).toBe(false)
  })

  test('stop() mid-batch waits for the batch in flight to be published and settled', async () => {
    const publisher = recordingPublisher()
    const relay = createRelay({ db: relayDb.db, publisher, schema: schema(), pollInterval: 20, concurrency: 1 })
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, Array.from({ length: 30 }, (_, i) => ({ topic: 'stop', payload: i })), { schema: schema() }),
    )
    const release = publisher.hold()
    await relay.start()
    await waitFor(() => publisher.calls.length === 1)
    let stopped = false
    const stopping = relay.stop().then(() => {
      stopped = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(stopped).toBe(false) // the batch is still in flight
    release()
    await stopping
    const inFlight = publisher.calls[0]?.length ?? 0
    expect(inFlight).toBeGreaterThan(0)
    expect(publisher.confirmed).toHaveLength(inFlight)
    expect(await backlog()).toBe(30 - inFlight) // settled: confirmed rows deleted, nothing half-done
    expect(relay.running).toBe(false)
  })
})
