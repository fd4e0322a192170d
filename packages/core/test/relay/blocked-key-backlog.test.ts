import { createRelay, migrate } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { deleteBatch } from '../../src/sql/relay/delete-batch.js'
import { resolveTableNames } from '../../src/schema/table-names.js'

// A key whose head keeps failing holds back its own messages and nothing
// else, and a claim costs what its batch costs however long that key's
// backlog grows, whatever the planner's statistics say.

const t = useTestDatabase('blocked_backlog')
const opts = () => ({ schema: t.schema })
const relayDb = separatePool(t, 'blocked_backlog_relay', 2)
const outbox = () => sql.id(t.schema, 'outbox')
const BACKLOG = 30_000

beforeAll(async () => {
  await migrate(t.db, opts())
})
afterAll(async () => {
  await relayDb.close()
})

/** The largest number of rows one step of the claim read and threw away, from EXPLAIN ANALYZE. */
async function rowsPassedOverByClaim(): Promise<{ removed: number; seqScan: boolean }> {
  const names = resolveTableNames(opts())
  const params = { laneLockSpace: names.locks.lanes, batchSize: 500, perLane: 500, lanesPerClaim: 64, idleTimeout: '60000ms', statementTimeout: '60000ms' }
  let worst = { removed: 0, seqScan: false }
  // The relay's statement with the relay's parameters, rolled back.
  const client = await t.client()
  try {
    await client.query('BEGIN')
    for (let rotation = 0; rotation < 64; rotation += 8) {
      const claim = deleteBatch(names, true, { ...params, rotation })
      const { rows } = await client.query(`EXPLAIN (ANALYZE, COSTS OFF) ${claim.text}`, [...claim.values])
      const text = rows.map((r) => r['QUERY PLAN']).join('\n')
      const removed = Math.max(0, ...[...text.matchAll(/Rows Removed by Filter: (\d+)/g)].map((m) => Number(m[1])))
      worst = { removed: Math.max(worst.removed, removed), seqScan: worst.seqScan || /Seq Scan on outbox/.test(text) }
    }
  } finally {
    await client.query('ROLLBACK')
    await client.end()
  }
  return worst
}

describe('a blocked key holds back only its own messages, and claims stay O(batch)', () => {
  test(`${BACKLOG} messages behind a failing head`, async () => {
    // The head of key "poison" failed and waits an hour for its retry; its
    // backlog sits in the same lane as other keys' messages.
    await sql`insert into ${outbox()} (message_id, topic, key, payload, attempts, available_at, last_error)
              values ('poison-head', 't', 'poison', '{}', 1, now() + interval '1 hour', 'Error: refused')`.execute(t.db)
    await sql`insert into ${outbox()} (message_id, topic, key, payload)
              select 'poison-' || g, 't', 'poison', '{}' from generate_series(1, ${BACKLOG}) g`.execute(t.db)
    await sql`insert into ${outbox()} (message_id, topic, key, payload)
              select 'other-' || g, 't', 'k' || (g % 200), '{}' from generate_series(1, 2000) g`.execute(t.db)
    // Statistics of a big backlog: the plan a server with autovacuum would use.
    await sql`analyze ${outbox()}`.execute(t.db)

    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), batchSize: 500 })
    await waitFor(async () => (await relay.runOnce()) === 0 && publisher.confirmed.length >= 2000, { timeoutMs: 20_000 })
    // Every other key's message went out; none of the blocked key's.
    expect(publisher.confirmed.filter((m) => m.key === 'poison')).toEqual([])
    expect(publisher.confirmed.length).toBe(2000)
    // Its backlog is held back, out of the claim's way: no claim reads it again.
    const held = await sql<{ n: number }>`select count(*)::int as n from ${outbox()} where key = 'poison' and available_at = 'infinity'`.execute(t.db)
    expect(held.rows[0]?.n).toBe(BACKLOG)
    await sql`insert into ${outbox()} (message_id, topic, key, payload)
              select 'late-' || g, 't', 'k' || (g % 200), '{}' from generate_series(1, 1000) g`.execute(t.db)
    await sql`analyze ${outbox()}`.execute(t.db)
    const claim = await rowsPassedOverByClaim()
    expect(claim.seqScan).toBe(false)
    expect(claim.removed).toBeLessThan(500)

    // The head comes due and is published: the key's messages follow, in order.
    await sql`update ${outbox()} set available_at = now() - interval '1 second' where message_id = 'poison-head'`.execute(t.db)
    publisher.confirmed.length = 0
    await waitFor(async () => (await relay.runOnce()) === 0 && publisher.confirmed.length >= BACKLOG + 1 + 1000, { timeoutMs: 30_000 })
    const poison = publisher.confirmed.filter((m) => m.key === 'poison').map((m) => m.messageId)
    expect(poison).toEqual(['poison-head', ...Array.from({ length: BACKLOG }, (_, i) => `poison-${i + 1}`)])
    const left = await sql<{ n: number }>`select count(*)::int as n from ${outbox()}`.execute(t.db)
    expect(left.rows[0]?.n).toBe(0)
  })
})

describe('held-back messages are never stranded', () => {
  test('their failed head deleted by hand: the relay releases them and publishes them in order', async () => {
    await sql`delete from ${outbox()}`.execute(t.db)
    await sql`insert into ${outbox()} (message_id, topic, key, payload, attempts, available_at)
              values ('gone-head', 't', 'gone', '{}', 1, now() + interval '1 hour')`.execute(t.db)
    await sql`insert into ${outbox()} (message_id, topic, key, payload)
              select 'gone-' || g, 't', 'gone', '{}' from generate_series(1, 50) g`.execute(t.db)
    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    const relay = createRelay({ db: relayDb.db, publisher, ...opts(), pollInterval: 10 })
    expect(await relay.runOnce()).toBe(0)
    const held = await sql<{ n: number }>`select count(*)::int as n from ${outbox()} where available_at = 'infinity'`.execute(t.db)
    expect(held.rows[0]?.n).toBe(50)
    // An operator deletes the failed head by hand.
    await sql`delete from ${outbox()} where message_id = 'gone-head'`.execute(t.db)
    const warnings: string[] = []
    const watched = createRelay({
      db: relayDb.db,
      publisher,
      ...opts(),
      pollInterval: 10,
      logger: { debug() {}, info() {}, warn: (_o, m) => warnings.push(m), error() {} },
    })
    await watched.start()
    try {
      await waitFor(() => publisher.confirmed.length >= 50, { timeoutMs: 10_000 })
    } finally {
      await watched.stop()
    }
    expect(publisher.confirmed.map((m) => m.messageId)).toEqual(Array.from({ length: 50 }, (_, i) => `gone-${i + 1}`))
    expect(warnings.some((w) => w.includes('released held-back messages'))).toBe(true)
  })
})
