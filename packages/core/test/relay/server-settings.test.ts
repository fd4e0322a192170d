import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, type Publisher, type Relay, withTransaction } from '@txbox/core'
import { recordingPublisher, useTestDatabase, waitFor } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

// The guarantees hold under the settings operators give their servers: the
// relay sets what its own transaction needs, whatever the server's defaults.

const t = useTestDatabase('server_settings')
const opts = () => ({ schema: t.schema })
const opened: Kysely<any>[] = []

/** A relay's pool whose sessions start with the given server settings, as a server default would. */
function poolWith(settings: Record<string, string>, max = 3): Kysely<any> {
  const flags = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`)
  const pool = new pg.Pool({ connectionString: t.url, max, options: `-c search_path=${t.schema},public ${flags.join(' ')}` })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  opened.push(db)
  return db
}

beforeAll(async () => {
  await migrate(t.db, opts())
})
beforeEach(async () => {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
})
afterAll(async () => {
  await Promise.all(opened.map((db) => db.destroy()))
})

const timesConfirmed = (confirmed: readonly OutboxMessage[]) => {
  const counts = new Map<string, number>()
  for (const m of confirmed) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1)
  return counts
}

describe('nothing is published twice without a crash, whatever the server settings', () => {
  test('default_transaction_isolation = serializable', async () => {
    // At SERIALIZABLE, two relays' claims and the writers' inserts conflict:
    // a claim transaction's COMMIT failed with a serialization error after
    // the broker had its batch, and the batch was published again.
    const publisher = recordingPublisher()
    const relays: Relay[] = [0, 1].map(() =>
      createRelay({ db: poolWith({ default_transaction_isolation: 'serializable' }), publisher, ...opts(), batchSize: 20, concurrency: 2, pollInterval: 5 }),
    )
    await Promise.all(relays.map((r) => r.start()))
    let committed = 0
    try {
      await Promise.all(
        Array.from({ length: 3 }, async (_, w) => {
          for (let i = 0; i < 100; i++) {
            await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'x', key: `k${(i + w) % 10}`, payload: { w, i } }, opts()))
            committed += 1
          }
        }),
      )
      await waitFor(() => timesConfirmed(publisher.confirmed).size >= committed, { timeoutMs: 20_000 })
    } finally {
      await Promise.all(relays.map((r) => r.stop()))
    }
    const twice = [...timesConfirmed(publisher.confirmed)].filter(([, n]) => n > 1)
    expect(twice).toEqual([])
  })

  test('idle_in_transaction_session_timeout shorter than a publish', async () => {
    // The claim's transaction waits, idle, while the broker has the batch.
    // operations.md recommends this timeout; shorter than a slow publish, it
    // ended the transaction after the broker took the batch: the messages were
    // sent again and again and never left the outbox.
    const inner = recordingPublisher()
    const slow: Publisher = {
      async publish(messages, context) {
        await new Promise((resolve) => setTimeout(resolve, 600))
        return inner.publish(messages, context)
      },
    }
    const db = poolWith({ idle_in_transaction_session_timeout: '200' })
    const relay = createRelay({ db, publisher: slow, ...opts(), pollInterval: 5 })
    const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic: 'slow', payload: { n } })), opts()))
    relay.on('error', () => {})
    await relay.start()
    try {
      await waitFor(async () => (await sql<{ n: number }>`select count(*)::int as n from ${sql.id(t.schema, 'outbox')}`.execute(t.db)).rows[0]?.n === 0, {
        timeoutMs: 10_000,
      })
    } finally {
      await relay.stop()
    }
    expect([...timesConfirmed(inner.confirmed)].sort()).toEqual(ids.map((id) => [id, 1]).sort())
  })
})
