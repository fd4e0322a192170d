import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { dashboardHandler, type DashboardHandler } from '@txbox/dashboard'
import { recordingPublisher, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ensureCliBuilt, runCli } from '../../core/test/cli/cli-process.js'

// The dashboard's changes racing what else mends or writes the outbox: a
// purge of "all matching" from the page while `txbox dead retry --all` runs
// and a relay publishes, and a retry of everything while writers enqueue on
// the same keys. Nothing is lost, nothing is done twice, nothing deadlocks.
const t = useTestDatabase('dash_race', { poolSize: 8 })
const TOKEN = 'race-test-token-0123456789ab'
let handler: DashboardHandler
let server: http.Server
let base: string
const dead = () => sql.id(t.schema, 'outbox_dead')
const outbox = () => sql.id(t.schema, 'outbox')

beforeAll(async () => {
  await ensureCliBuilt()
  await migrate(t.db, { schema: t.schema })
  handler = dashboardHandler({ db: t.db, schema: t.schema, token: TOKEN, allowChanges: true, logger: { debug() {}, info() {}, warn() {}, error() {} } })
  server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}, 120_000)

afterAll(async () => {
  await handler?.close()
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
})

async function changeFromPage(body: unknown): Promise<{ status: number; body: { selected: number; done: number } }> {
  const page = await (await fetch(`${base}/`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()
  const csrf = /name="txbox-csrf" content="([^"]+)"/.exec(page)?.[1] as string
  const response = await fetch(`${base}/api/dead-letters/changes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-txbox-csrf': csrf },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as { selected: number; done: number } }
}

async function fillDead(count: number, prefix: string): Promise<void> {
  await sql`INSERT INTO ${dead()} (id, message_id, topic, key, payload, attempts, last_error, created_at)
    SELECT g, ${prefix} || g, 'race', 'key:' || (g % 10), jsonb_build_object('n', g), 5,
           CASE WHEN g % 2 = 0 THEN 'purge-me: broken' ELSE 'timeout' END, now()
    FROM generate_series(1, ${count}::int) g`.execute(t.db)
}

async function count(table: ReturnType<typeof dead>): Promise<number> {
  return Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${table}`.execute(t.db)).rows[0]?.n)
}

/** Whether a session of `txbox-cli` (or of anything else) waits for a row lock on this file's dead letters. */
async function waitsForLock(cli: boolean): Promise<boolean> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock' AND strpos(query, ${t.schema}) > 0 AND strpos(query, 'FOR UPDATE') > 0
      AND (application_name = 'txbox-cli') = ${cli}`.execute(t.db)
  return Number(rows[0]?.n) > 0
}

test.each([
  ['the page purges first', 'purge'],
  ['txbox dead retry first', 'retry'],
] as const)('purge of "all matching" from the page racing `txbox dead retry --all` and a relay (%s): each dead letter purged or published once', async (_, first) => {
  const COUNT = 400
  await fillDead(COUNT, 'race-')
  const publisher = recordingPublisher()
  const relay = createRelay({ db: t.db, publisher, schema: t.schema, listen: t.pool, pollInterval: 100 })
  await relay.start()
  // A transaction holding the newest dead letter makes both wait in the middle of their selection, then lets them go at once.
  const blocker = await t.client()
  try {
    await blocker.query('BEGIN')
    await blocker.query(`SELECT 1 FROM "${t.schema}".outbox_dead WHERE id = $1 FOR UPDATE`, [COUNT])
    const purgeFromPage = () => changeFromPage({ action: 'purge', filter: { topic: 'race', error: 'PURGE-ME' } })
    const retryFromCli = () => runCli(['dead', 'retry', '--all', '--yes', '--schema', t.schema], { env: { DATABASE_URL: t.url }, timeoutMs: 60_000 })
    let purge: ReturnType<typeof purgeFromPage>
    let retry: ReturnType<typeof retryFromCli>
    if (first === 'purge') {
      purge = purgeFromPage()
      await waitFor(() => waitsForLock(false), { timeoutMs: 10_000, message: 'the purge waits' })
      retry = retryFromCli()
      await waitFor(() => waitsForLock(true), { timeoutMs: 20_000, message: 'the retry waits' })
    } else {
      retry = retryFromCli()
      await waitFor(() => waitsForLock(true), { timeoutMs: 20_000, message: 'the retry waits' })
      purge = purgeFromPage()
      await waitFor(() => waitsForLock(false), { timeoutMs: 10_000, message: 'the purge waits' })
    }
    await blocker.query('COMMIT')
    const [purged, retried] = await Promise.all([purge, retry])
    expect(purged.status).toBe(200)
    expect(retried.code, retried.stderr).toBe(0)
    // The first takes its whole selection; the second skips what the first removed.
    expect(purged.body.done).toBe(first === 'purge' ? COUNT / 2 : 0)
    expect(await count(dead())).toBe(0)
    const published = () => new Set(publisher.confirmed.map((m) => m.messageId))
    await waitFor(async () => published().size === COUNT - purged.body.done && (await count(outbox())) === 0, {
      timeoutMs: 30_000,
      message: 'the relay publishes every retried message',
    })
    expect(publisher.confirmed.length).toBe(published().size)
    if (first === 'purge') expect([...published()].every((id) => Number(id.slice('race-'.length)) % 2 === 1)).toBe(true)
  } finally {
    await blocker.query('ROLLBACK').catch(() => {})
    await blocker.end()
    await relay.stop()
    await sql`TRUNCATE ${dead()}, ${outbox()}`.execute(t.db)
  }
}, 90_000)

test('retry of everything from the page while writers enqueue on the same keys: no deadlock, every message published once', async () => {
  const COUNT = 300
  await fillDead(COUNT, 'retry-')
  const publisher = recordingPublisher()
  const relay = createRelay({ db: t.db, publisher, schema: t.schema, listen: t.pool, pollInterval: 100 })
  await relay.start()
  let stop = false
  const written: string[] = []
  // Each writer enqueues on several keys per transaction, the keys in a shuffled order.
  const writer = async (w: number) => {
    for (let i = 0; !stop && i < 200; i++) {
      const keys = [3, 7, 1, 9, 0, 5].map((k) => (k + i + w) % 10)
      const messages = keys.map((k, j) => ({ messageId: `w${w}-${i}-${j}`, topic: 'race', key: `key:${k}`, payload: { w, i, j } }))
      await withTransaction(t.db, (trx) => enqueueOnCommit(trx, messages, { schema: t.schema }))
      written.push(...messages.map((m) => m.messageId))
    }
  }
  try {
    const writers = [writer(1), writer(2)]
    await waitFor(() => written.length > 0, { timeoutMs: 10_000, message: 'the writers run' })
    const retry = await changeFromPage({ action: 'retry', filter: {} })
    stop = true
    await Promise.all(writers)
    expect(retry).toMatchObject({ status: 200, body: { selected: COUNT, done: COUNT } })
    const expected = COUNT + written.length
    await waitFor(() => new Set(publisher.confirmed.map((m) => m.messageId)).size === expected, {
      timeoutMs: 30_000,
      message: 'every message, written or retried, is published',
    })
    expect(publisher.confirmed.length).toBe(expected)
    expect(await count(dead())).toBe(0)
  } finally {
    stop = true
    await relay.stop()
    await sql`TRUNCATE ${dead()}, ${outbox()}`.execute(t.db)
  }
}, 90_000)
