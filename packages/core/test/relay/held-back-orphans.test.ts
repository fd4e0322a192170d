import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

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

describe('the sweep of held-back messages costs what a claim costs', () => {
  test('50,000 keys blocked behind failed heads, statement_timeout = 200ms: other keys are still published', async () => {
    // An outage the broker answered with refusals (unroutable, nacks): many
    // keys each have a failed head and a held-back message behind it.
    await sql`insert into ${outbox()} (message_id, topic, key, payload, attempts, available_at)
              select 'head-' || g, 't', 'user-' || g, '{}', 1, now() + interval '1 hour' from generate_series(1, 50000) g`.execute(t.db)
    await sql`insert into ${outbox()} (message_id, topic, key, payload, available_at)
              select 'held-' || g, 't', 'user-' || g, '{}', 'infinity' from generate_series(1, 50000) g`.execute(t.db)
    await sql`analyze ${outbox()}`.execute(t.db)
    // A statement_timeout the claim itself fits in many times over (the claim reads O(batch)).
    const pool = new pg.Pool({ connectionString: t.url, max: 2, options: `-c search_path=${t.schema},public -c statement_timeout=200` })
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
