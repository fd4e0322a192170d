import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, type Relay, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { resolveTableNames } from '../../src/schema/table-names.js'

const t = useTestDatabase('relay_order')
const opts = () => ({ schema: t.schema })
const pools = Array.from({ length: 4 }, (_, i) => separatePool(t, `relay_order_${i}`, 2))

beforeAll(async () => {
  await migrate(t.db, opts())
})
beforeEach(async () => {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
})
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()))
})

/** The first delivery of each message, grouped by key, in delivery order. */
function firstDeliveriesByKey(delivered: readonly OutboxMessage[]): Map<string, string[]> {
  const seen = new Set<string>()
  const byKey = new Map<string, string[]>()
  for (const m of delivered) {
    if (seen.has(m.messageId) || m.key === null) continue
    seen.add(m.messageId)
    byKey.set(m.key, [...(byKey.get(m.key) ?? []), m.messageId])
  }
  return byKey
}

describe('messages with the same key are published in the order their transactions committed', () => {
  test('with 4 relays, 20 keys and concurrent writers', async () => {
    const publisher = recordingPublisher()
    const relays: Relay[] = pools.map((p) => createRelay({ db: p.db, publisher, ...opts(), batchSize: 50, pollInterval: 10 }))
    const committedByKey = new Map<string, string[]>()
    let committed = 0
    await Promise.all(relays.map((r) => r.start()))
    try {
      // Writers commit while the relays run, so claims interleave with commits.
      await Promise.all(
        Array.from({ length: 3 }, async (_, w) => {
          for (let i = 0; i < 60; i++) {
            const key = `key-${(i * 7 + w * 3) % 20}`
            const rollBack = i % 9 === 4
            let id = ''
            await withTransaction(t.db, async (trx) => {
              ;[id] = await enqueueOnCommit(trx, { topic: 'ordered', key, payload: { w, i } }, opts())
              if (rollBack) throw new Error('roll back')
            }).catch(() => {})
            if (rollBack) continue
            // COMMIT has returned: this transaction committed after every earlier one of its key
            // (same-key writers wait for each other at enqueue).
            committedByKey.set(key, [...(committedByKey.get(key) ?? []), id as string])
            committed += 1
          }
        }),
      )
      await waitFor(() => new Set(publisher.confirmed.map((m) => m.messageId)).size >= committed, { timeoutMs: 15_000 })
    } finally {
      await Promise.all(relays.map((r) => r.stop()))
    }
    expect(firstDeliveriesByKey(publisher.confirmed)).toEqual(committedByKey)
    // The relays shared the work.
    const published = await Promise.all(relays.map((r) => r.metrics()))
    expect(published.filter((m) => m.published > 0).length).toBeGreaterThan(1)
  })

  test('two transactions writing one key cannot commit in the opposite order of their ids', async () => {
    // T1 enqueues first (lower id). T2 enqueues the same key while T1 is open.
    // If T2 could then commit before T1, a relay running after both would
    // publish T1's message first: against commit order. txbox makes T2 wait at
    // its enqueue until T1 ends, so the order of commits is the order of ids.
    const commitOrder: string[] = []
    let releaseT1!: () => void
    const t1CanCommit = new Promise<void>((r) => {
      releaseT1 = r
    })
    let t1Enqueued!: () => void
    const t1HasEnqueued = new Promise<void>((r) => {
      t1Enqueued = r
    })
    let t2Enqueued = false

    const t1 = withTransaction(t.db, async (trx) => {
      await enqueueOnCommit(trx, { topic: 'race', key: 'user:1', payload: 'T1' }, opts())
      t1Enqueued()
      await t1CanCommit
    }).then(() => commitOrder.push('T1'))

    await t1HasEnqueued
    const t2 = withTransaction(t.db, async (trx) => {
      await enqueueOnCommit(trx, { topic: 'race', key: 'user:1', payload: 'T2' }, opts())
      t2Enqueued = true
    }).then(() => commitOrder.push('T2'))

    // Let T2 run as far as it can: either it is blocked on T1's key lock, or
    // (without the lock) it has enqueued and committed already.
    await waitFor(async () => {
      const { rows } = await sql<{ waiting: number }>`
        select count(*)::int as waiting from pg_locks
        where locktype = 'advisory' and not granted and objsubid = 2
          and classid = ${resolveTableNames(opts()).locks.keys}::bigint::oid and objid = hashtext('user:1')::bigint::oid`.execute(pools[0]!.db)
      return (rows[0]?.waiting ?? 0) > 0 || t2Enqueued
    })
    await new Promise((resolve) => setImmediate(resolve))
    releaseT1()
    await Promise.all([t1, t2])

    const publisher = recordingPublisher()
    const relay = createRelay({ db: pools[0]!.db, publisher, ...opts() })
    expect(await relay.runOnce()).toBe(2)
    expect(publisher.confirmed.map((m) => JSON.parse(m.payload))).toEqual(commitOrder)
    expect(commitOrder).toEqual(['T1', 'T2'])
  })

  test('one batch holds many messages of one key, in order', async () => {
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, Array.from({ length: 100 }, (_, i) => ({ topic: 'one-key', key: 'hot', payload: i })), opts()),
    )
    // A publisher that stops a key at its first failure gets whole lanes; one
    // that needs waves gets at most batchSize/16 rows per lane (more keys per batch).
    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    const relay = createRelay({ db: pools[0]!.db, publisher, ...opts(), batchSize: 100 })
    expect(await relay.runOnce()).toBe(100)
    expect(publisher.confirmed.map((m) => JSON.parse(m.payload))).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  test('a relay with a batch in flight leaves the lanes it did not need to other relays', async () => {
    const first = recordingPublisher()
    const relayA = createRelay({ db: pools[0]!.db, publisher: first, ...opts() })
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'small', key: 'a', payload: 'a' }, opts()))
    const release = first.hold()
    const inFlight = relayA.runOnce()
    await waitFor(() => first.calls.length === 1)
    // A message of another lane, committed while A's batch is out.
    let other = 'b'
    const laneOf = async (key: string) =>
      (await sql<{ lane: number }>`select (hashtext(${key}) & 2147483647) % 64 as lane`.execute(t.db)).rows[0]?.lane
    for (let i = 0; (await laneOf(other)) === (await laneOf('a')); i++) other = `b${i}`
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'small', key: other, payload: other }, opts()))
    const second = recordingPublisher()
    const relayB = createRelay({ db: pools[1]!.db, publisher: second, ...opts() })
    expect(await relayB.runOnce()).toBe(1)
    release()
    expect(await inFlight).toBe(1)
  })

  test('for a publisher that needs waves, a batch takes at most batchSize/16 rows of a lane', async () => {
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, Array.from({ length: 100 }, (_, i) => ({ topic: 'one-key', key: 'hot', payload: i })), opts()),
    )
    const publisher = recordingPublisher()
    const relay = createRelay({ db: pools[0]!.db, publisher, ...opts(), batchSize: 160 })
    expect(await relay.runOnce()).toBe(10)
    expect(publisher.calls).toHaveLength(10) // one wave per message of the key
  })
})
