import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest'

// Per-key order when publishes fail: a key's messages reach the broker for
// the first time in the order their transactions committed, however the
// failures, retries, timeouts and lane hand-overs between relays fall.

const t = useTestDatabase('key_order_fail')
const opts = () => ({ schema: t.schema })
const pools = Array.from({ length: 2 }, (_, i) => separatePool(t, `key_order_fail_${i}`, 3))

beforeAll(async () => {
  await migrate(t.db, opts())
})
beforeEach(async () => {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
})
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()))
})

/** Enqueues `count` messages of `key`, one transaction each, and returns their ids in commit order. */
async function enqueueInOrder(key: string, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const [id] = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'ordered', key, payload: { i } }, opts()))
    ids.push(id as string)
  }
  return ids
}

/** Two keys whose lanes the claim's walk visits one right after the other. */
async function adjacentLaneKeys(): Promise<{ keyBefore: string; key: string; laneBefore: number }> {
  const laneOf = async (k: string) =>
    (await sql<{ lane: number }>`select ((hashtext(${k}) & 2147483647) % 64)::int as lane`.execute(t.db)).rows[0]?.lane as number
  const keyBefore = 'slow-key'
  const laneBefore = await laneOf(keyBefore)
  for (let i = 0; ; i++) {
    const key = `key-${i}`
    if ((await laneOf(key)) === (laneBefore + 1) % 64) return { keyBefore, key, laneBefore }
  }
}

/** Claim statements running now on the backends of the named pool. */
async function claimsRunning(applicationName: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
    where application_name = ${applicationName} and state = 'active' and query like 'WITH RECURSIVE walk%'`.execute(t.db)
  return rows[0]?.n ?? 0
}

describe('a key keeps its commit order while its messages fail and are retried', () => {
  test('a claim that read its lane before the previous holder committed takes nothing of that lane’s keys', async () => {
    // At READ COMMITTED a claim's snapshot is taken before its walk locks a
    // lane. Relay A holds the lane of key K and fails K's head; relay B starts
    // its claim, and A commits (putting the head back as failed) before B's
    // walk reaches that lane. B then saw the lane as it was before A took it:
    // the head, which its DELETE skips (deleted under it), and K's later
    // messages, which it published before the head.
    //
    // To make that window wide and certain, B's walk is slowed on the lane it
    // visits just before K's: a blocked key with a long backlog there (whose
    // rows the walk reads and passes over), and the walk's rotation pinned.
    const { keyBefore, key, laneBefore } = await adjacentLaneKeys()
    const o = sql.id(t.schema, 'outbox')
    await sql`insert into ${o} (message_id, topic, key, payload, attempts, available_at)
              values ('blocked-head', 'slow', ${keyBefore}, '{}', 1, now() + interval '1 hour')`.execute(t.db)
    await sql`insert into ${o} (message_id, topic, key, payload)
              select 'backlog-' || g, 'slow', ${keyBefore}, '{}' from generate_series(1, 200000) g`.execute(t.db)
    await sql`vacuum analyze ${o}`.execute(t.db)
    const ids = await enqueueInOrder(key, 4)
    // The walk starts at lane floor(Math.random() * 64): A starts at K's lane
    // (so it does not hold the slow lane), B at the slow lane just before it.
    const startAt = (lane: number) => (lane + 0.5) / 64
    const random = vi.spyOn(Math, 'random').mockReturnValue(startAt((laneBefore + 1) % 64))
    try {
      const publisherA = recordingPublisher()
      publisherA.failWhen(() => new Error('K’s head fails'))
      const releaseA = publisherA.hold()
      const relayA = createRelay({ db: pools[0]?.db as never, publisher: publisherA, ...opts(), batchSize: 1, backoff: () => 3_600_000 })
      const aCycle = relayA.runOnce()
      await waitFor(() => publisherA.calls.length === 1, { timeoutMs: 10_000 })
      expect(publisherA.calls[0]?.map((m) => m.messageId)).toEqual([ids[0]])

      // A publisher that needs no waves: B's claim takes up to its whole batch from a lane.
      const publisherB = recordingPublisher({ stopsKeyOnFailure: true })
      const relayB = createRelay({ db: pools[1]?.db as never, publisher: publisherB, ...opts(), batchSize: 10 })
      random.mockReturnValue(startAt(laneBefore))
      const bCycle = relayB.runOnce()
      // B's claim is running (its snapshot taken, its walk on the slow lane): A commits now.
      await waitFor(async () => (await claimsRunning('key_order_fail_1')) > 0, { timeoutMs: 10_000, intervalMs: 2 })
      const t0 = Date.now()
      releaseA()
      expect(await aCycle).toBe(0)
      const t1 = Date.now()
      await bCycle
      console.log('DBG A done', t1 - t0, 'B done', Date.now() - t0, publisherB.calls.map((c) => c.map((m) => m.messageId)))
      // Nothing of K may be published while its head waits for its retry.
      expect(publisherB.confirmed.map((m) => m.messageId)).toEqual([])
    } finally {
      random.mockRestore()
    }
  })

  test('a publish that times out spends no attempt, and the key is sent again in order', async () => {
    // The whole batch goes in one call (a publisher that stops a key at its
    // first failure, as the Redis one does). The call outlives publishTimeout:
    // the broker was not reached in time, so no message of it spends an
    // attempt or gets a retry time of its own (one could come due, and be
    // sent, before the key's head); they are all sent again, in order.
    const ids = await enqueueInOrder('slow-key', 3)
    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    const release = publisher.hold()
    // The late reply of the first call is a failure; later calls succeed.
    publisher.failWhen(() => (publisher.calls.length === 1 ? new Error('the late reply was an error') : undefined))
    let retries = 0
    const relay = createRelay({
      db: pools[0]?.db as never,
      publisher,
      ...opts(),
      publishTimeout: 100,
      backoff: () => {
        retries += 1
        return 0
      },
    })
    expect(await relay.runOnce()).toBe(0)
    release()
    const attempts = await sql<{ attempts: number }>`select attempts from ${sql.id(t.schema, 'outbox')} order by id`.execute(t.db)
    expect(attempts.rows.map((r) => r.attempts)).toEqual([0, 0, 0])
    await waitFor(async () => {
      await relay.runOnce()
      return publisher.confirmed.length >= 3
    }, { timeoutMs: 10_000 })
    expect(publisher.calls.slice(1).flat().map((m) => m.messageId)).toEqual(ids)
    expect(retries).toBe(0)
  })

  test('a key’s failed messages follow one schedule, its oldest failure’s', async () => {
    // Two failed messages of one key on different retry times (left by a relay
    // running with blockKeyOnFailure off, say): the later one, due first, waits
    // for the earlier one; then both go, in order.
    const o = sql.id(t.schema, 'outbox')
    await sql`insert into ${o} (message_id, topic, key, payload, attempts, available_at) values
      ('first', 't', 'two-failures', '{}', 1, now() + interval '1 hour'),
      ('second', 't', 'two-failures', '{}', 1, now() - interval '1 second')`.execute(t.db)
    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    const relay = createRelay({ db: pools[0]?.db as never, publisher, ...opts() })
    expect(await relay.runOnce()).toBe(0)
    expect(publisher.calls).toEqual([])
    await sql`update ${o} set available_at = now() - interval '1 second' where message_id = 'first'`.execute(t.db)
    expect(await relay.runOnce()).toBe(2)
    expect(publisher.confirmed.map((m) => m.messageId)).toEqual(['first', 'second'])
  })
})
