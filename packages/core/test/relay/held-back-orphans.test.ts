import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { resolveTableNames } from '../../src/schema/table-names.js'
import { orphanKeysSubquery, SWEEP_KEYS } from '../../src/sql/relay/orphan-keys.js'

// Held-back messages and the sweep that releases them when their failed head
// leaves other than through a relay (deleted by hand).

const t = useTestDatabase('held_orphans')
const opts = () => ({ schema: t.schema })
const relayDb = separatePool(t, 'held_orphans_relay', 2)
const outbox = () => sql.id(t.schema, 'outbox')
const opened: Kysely<any>[] = []

beforeAll(async () => {
  await migrate(t.db, opts())
})
beforeEach(async () => {
  await sql`delete from ${outbox()}`.execute(t.db)
})
afterAll(async () => {
  await Promise.all(opened.map((db) => db.destroy()))
  await relayDb.close()
})

describe('per-key order when a failed head is deleted by hand', () => {
  test('a failed row made ready by hand (attempts > 0, available_at NULL) is published, and so is its key', async () => {
    // "available_at NULL: ready now" (the schema's comment): an operator's
    // retry-now, or a row copied from another tool, keeps its attempts.
    await sql`insert into ${outbox()} (message_id, topic, key, payload, attempts, available_at, last_error)
              values ('hand-1', 't', 'hand', '{}', 2, null, 'Error: refused')`.execute(t.db)
    await sql`insert into ${outbox()} (message_id, topic, key, payload) values ('hand-2', 't', 'hand', '{}')`.execute(t.db)
    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    const relay = createRelay({ db: relayDb.db, publisher, ...opts() })
    for (let i = 0; i < 5 && publisher.confirmed.length < 2; i++) await relay.runOnce()
    const left = await sql<{ message_id: string; attempts: number; available_at: string | null }>`
      select message_id, attempts, available_at::text from ${outbox()} order by id`.execute(t.db)
    expect({ published: publisher.confirmed.map((m) => m.messageId), left: left.rows }).toEqual({ published: ['hand-1', 'hand-2'], left: [] })
  })
})

/** What one pass of the sweep read, from EXPLAIN ANALYZE: the most rows a step threw away, and whether it scanned the table. */
async function sweepPassCost(): Promise<{ removed: number; seqScan: boolean; loops: number }> {
  const names = resolveTableNames(opts())
  const client = await t.client()
  try {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, COSTS OFF) SELECT ${orphanKeysSubquery(names, '$1')}`, [null])
    const text = rows.map((r) => r['QUERY PLAN']).join('\n')
    return {
      removed: Math.max(0, ...[...text.matchAll(/Rows Removed by Filter: (\d+)/g)].map((m) => Number(m[1]))),
      seqScan: /Seq Scan on outbox/.test(text),
      loops: Math.max(0, ...[...text.matchAll(/loops=(\d+)/g)].map((m) => Number(m[1]))),
    }
  } finally {
    await client.end()
  }
}

describe('the sweep of held-back messages costs what a claim costs', () => {
  test('50,000 keys blocked behind failed heads: a sweep pass reads O(keys it looks at), and other keys are still published', async () => {
    // An outage the broker answered with refusals (unroutable, nacks): many
    // keys each have a failed head and a held-back message behind it.
    await sql`insert into ${outbox()} (message_id, topic, key, payload, attempts, available_at)
              select 'head-' || g, 't', 'user-' || g, '{}', 1, now() + interval '1 hour' from generate_series(1, 50000) g`.execute(t.db)
    await sql`insert into ${outbox()} (message_id, topic, key, payload, available_at)
              select 'held-' || g, 't', 'user-' || g, '{}', 'infinity' from generate_series(1, 50000) g`.execute(t.db)
    await sql`analyze ${outbox()}`.execute(t.db)
    // The cost, counted rather than timed: one pass probes at most SWEEP_KEYS keys through
    // the index of held rows, never scanning the 100,000 rows nor filtering through them (the
    // one filter that throws rows away is the pass picking its last key out of SWEEP_KEYS).
    const cost = await sweepPassCost()
    expect(cost.seqScan).toBe(false)
    expect(cost.removed).toBeLessThanOrEqual(SWEEP_KEYS)
    expect(cost.loops).toBeLessThanOrEqual(SWEEP_KEYS + 1)
    // And a relay under a statement_timeout that a scan of this backlog would need at load
    // still publishes the other keys (the timing is a backstop; the counts above are the check).
    const pool = new pg.Pool({ connectionString: t.url, max: 2, options: `-c search_path=${t.schema},public -c statement_timeout=2000` })
    pool.on('error', () => {})
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
    opened.push(db)
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(
        trx,
        [1, 2, 3].map((n) => ({ topic: 't', key: `fresh-${n}`, payload: { n } })),
        opts(),
      ),
    )
    const publisher = recordingPublisher({ stopsKeyOnFailure: true })
    const errors: string[] = []
    const relay = createRelay({ db, publisher, ...opts(), pollInterval: 50 })
    relay.on('error', (e) => errors.push(e.message))
    await relay.start()
    try {
      await waitFor(() => publisher.confirmed.length >= 3 || errors.length >= 3, { timeoutMs: 10_000 })
    } finally {
      await relay.stop()
    }
    expect(errors.slice(0, 1)).toEqual([])
    expect(publisher.confirmed.length).toBe(3)
  }, 60_000)
})
