import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { InvalidOptionError, migrate } from '@txbox/core'
import { dashboardHandler, type DashboardHandler, type DashboardOptions } from '@txbox/dashboard'
import { useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest'

// What a hostile or careless client sends the dashboard's server: odd URLs,
// odd filters, odd message ids. The page itself is driven in Chromium by
// dashboard-page.test.ts and dashboard-odd-data.test.ts.
const t = useTestDatabase('dash_hostile')
const TOKEN = 'hostile-test-token-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }
const handlers: DashboardHandler[] = []
const servers: http.Server[] = []
const dead = () => sql.id(t.schema, 'outbox_dead')

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
})

beforeEach(async () => {
  await sql`TRUNCATE ${dead()}`.execute(t.db)
})

afterAll(async () => {
  await Promise.all(handlers.map((h) => h.close()))
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
})

interface Logged {
  level: string
  message: string
}

async function serve(options: Partial<DashboardOptions> = {}): Promise<{ base: string; logged: Logged[] }> {
  const logged: Logged[] = []
  const log = (level: string) => (_fields: unknown, message: string) => void logged.push({ level, message })
  const handler = dashboardHandler({
    db: t.db,
    schema: t.schema,
    token: TOKEN,
    allowChanges: true,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    ...options,
  })
  handlers.push(handler)
  const server = http.createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logged }
}

/** A GET (body read, so that the connection is free again). */
async function get(url: string, headers: Record<string, string> = auth): Promise<{ status: number; location: string | null; body: string }> {
  const response = await fetch(url, { headers, redirect: 'manual' })
  return { status: response.status, location: response.headers.get('location'), body: await response.text() }
}

async function csrfOf(base: string): Promise<string> {
  const { body } = await get(`${base}/`)
  return /name="txbox-csrf" content="([^"]+)"/.exec(body)?.[1] as string
}

async function change(base: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}/api/dead-letters/changes`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'x-txbox-csrf': await csrfOf(base) },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: await response.json() }
}

async function addDeadLetters(rows: { id: number; messageId: string; topic?: string; key?: string | null; error?: string }[]): Promise<void> {
  for (const r of rows) {
    await sql`INSERT INTO ${dead()} (id, message_id, topic, key, payload, attempts, last_error, created_at)
      VALUES (${r.id}, ${r.messageId}, ${r.topic ?? 'hostile'}, ${r.key ?? null}, '{}', 1, ${r.error ?? 'boom'}, now())`.execute(t.db)
  }
}

test('a path that starts with // is no redirect to another site', async () => {
  const { base } = await serve()
  for (const path of ['//evil.example', '//evil.example/', '/\\evil.example', '//evil.example?token=x']) {
    const r = await get(`${base}${path}`, {})
    // Whatever the answer, it never sends the browser elsewhere.
    if (r.location !== null) expect(new URL(r.location, `${base}/`).origin, `${path} -> ${r.location}`).toBe(base)
  }
  // basePath mounted: the same.
  const mounted = await serve({ basePath: '/txbox' })
  const r = await get(`${mounted.base}//evil.example/txbox`, {})
  if (r.location !== null) expect(new URL(r.location, `${mounted.base}/`).origin).toBe(mounted.base)
})

test('token: false (your own middleware authenticates): a ?token= in the URL is no reason to refuse the page', async () => {
  const { base } = await serve({ token: false })
  const r = await get(`${base}/?token=left-over-from-a-bookmark`, {})
  // Served (or redirected to the page without the token), never "that token is wrong".
  if (r.status === 303) expect(new URL(r.location as string, `${base}/`).search).toBe('')
  else expect(r.status).toBe(200)
})

test('the change log line quotes message ids: a newline or terminal escape in one cannot forge a log line', async () => {
  const { base, logged } = await serve()
  const forged = 'x\n03:25:00.000 INFO  dashboard: admin retried 0 of 0 dead letter(s)\u001b[31m'
  const r = await change(base, { action: 'purge', messageIds: [forged] })
  expect(r.status).toBe(200)
  const line = logged.find((l) => l.message.includes('purged'))?.message as string
  expect(line).toBeDefined()
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is checked
  expect(line).not.toMatch(/[\u0000-\u001f\u007f]/)
})

test('a time in a filter must be an ISO 8601 date: "1" is refused, not read as the year 2001', async () => {
  const { base } = await serve()
  await addDeadLetters([{ id: 1, messageId: 'old' }])
  for (const from of ['1', '12', 'tomorrow', '2024-13-01T00:00:00Z']) {
    expect((await get(`${base}/api/dead-letters?from=${encodeURIComponent(from)}`)).status, from).toBe(400)
    const purge = await change(base, { action: 'purge', filter: { from } })
    expect(purge.status, from).toBe(400)
  }
  expect((await get(`${base}/api/dead-letters?from=2024-01-01T00:00:00.000Z`)).status).toBe(200)
  expect((await get(`${base}/api/dead-letters?from=2024-01-01`)).status).toBe(200)
  expect(Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${dead()}`.execute(t.db)).rows[0]?.n)).toBe(1)
})

test('searches take %, _, \\ and regular-expression characters literally', async () => {
  const { base } = await serve()
  const odd = ['100% off', 'a_b', 'back\\slash', '(a|b).*[x]', "it's \"quoted\""]
  await addDeadLetters(odd.map((text, i) => ({ id: i + 1, messageId: `m${i}`, topic: text, key: text, error: `error: ${text}` })))
  await addDeadLetters([{ id: 100, messageId: 'decoy', topic: '100x off', key: 'aXb', error: 'error: 100 off aXb backslash a' }])
  for (const [i, text] of odd.entries()) {
    for (const field of ['topic', 'key', 'error']) {
      const page = JSON.parse((await get(`${base}/api/dead-letters?${field}=${encodeURIComponent(text)}`)).body)
      expect(page.rows.map((r: { messageId: string }) => r.messageId), `${field}=${text}`).toEqual([`m${i}`])
    }
  }
})

test('paging by id is stable while dead letters are added and removed between pages', async () => {
  const { base } = await serve()
  await addDeadLetters(Array.from({ length: 120 }, (_, i) => ({ id: (i + 1) * 10, messageId: `p${i + 1}` })))
  const page1 = JSON.parse((await get(`${base}/api/dead-letters?limit=50`)).body)
  // Newer ones arrive, and rows of the first and of later pages go.
  await addDeadLetters([{ id: 5000, messageId: 'newer' }, { id: 605, messageId: 'between' }])
  await sql`DELETE FROM ${dead()} WHERE id IN (1200, 600, 300)`.execute(t.db)
  const page2 = JSON.parse((await get(`${base}/api/dead-letters?limit=50&before=${page1.next}`)).body)
  const page3 = JSON.parse((await get(`${base}/api/dead-letters?limit=50&before=${page2.next}`)).body)
  expect(page3.next).toBeNull()
  const seen = [...page1.rows, ...page2.rows, ...page3.rows].map((r: { id: string }) => Number(r.id))
  expect(new Set(seen).size).toBe(seen.length)
  // Every row there from start to end was shown once; the ones deleted after page 1 and the newer one are not on later pages.
  const throughout = Array.from({ length: 120 }, (_, i) => (i + 1) * 10).filter((id) => ![1200, 600, 300].includes(id))
  for (const id of throughout) expect(seen).toContain(id)
  expect(seen).not.toContain(600)
  expect(seen).not.toContain(5000)
})

test('with a thousand topics the charts history stays small: the topics charted, not every topic at every point', async () => {
  const TOPICS = 1000
  const outbox = sql.id(t.schema, 'outbox')
  await sql`INSERT INTO ${outbox} (message_id, topic, payload)
    SELECT 'many-' || g, 'tenant-' || g || '.order.created', '{}' FROM generate_series(1, ${TOPICS}::int) g`.execute(t.db)
  // The biggest backlog, so that it is charted.
  await sql`INSERT INTO ${outbox} (message_id, topic, payload) SELECT 'big-' || g, 'tenant-7.order.created', '{}' FROM generate_series(1, 50) g`.execute(t.db)
  try {
    const { base } = await serve({ sampleIntervalMs: 100 })
    let history: any
    await waitFor(
      async () => {
        history = JSON.parse((await get(`${base}/api/history`)).body)
        return history.at.length >= 20
      },
      { timeoutMs: 20_000, message: 'twenty samples' },
    )
    const bytes = JSON.stringify(history).length
    // Each chart carries at most its eight lines, one value per point.
    for (const chart of [history.backlog, history.age]) {
      expect(chart.length).toBeLessThanOrEqual(8)
      for (const line of chart) expect(line.values.length).toBe(history.at.length)
    }
    expect(history.backlog[0]).toMatchObject({ topic: 'tenant-7.order.created' })
    expect(history.backlog[0].values.at(-1)).toBe(51)
    // Some 30 bytes per point and line, not per point and topic.
    expect(bytes).toBeLessThan(history.at.length * 16 * 40 + 10_000)
  } finally {
    await sql`TRUNCATE ${outbox}`.execute(t.db)
  }
})

test('a bad option is an InvalidOptionError naming it, thrown by dashboardHandler: a basePath without its leading slash too', () => {
  const cases: [Partial<DashboardOptions>, string][] = [
    [{ basePath: 'txbox' }, 'basePath'],
    [{ basePath: '/txbox?x=1' }, 'basePath'],
    [{ token: 'short' }, 'token'],
    [{ sampleIntervalMs: 5 }, 'sampleIntervalMs'],
    [{ schema: 'Bad-Name' }, 'schema'],
  ]
  for (const [options, option] of cases) {
    let thrown: unknown
    try {
      handlers.push(dashboardHandler({ db: t.db, schema: t.schema, token: TOKEN, ...options }))
    } catch (error) {
      thrown = error
    }
    expect(thrown, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError)
    expect((thrown as InvalidOptionError).option).toBe(option)
  }
})

test('HEAD of the page and its assets answers as GET does, without a body', async () => {
  const { base } = await serve()
  for (const path of ['/', '/assets/dashboard.js', '/assets/vendor/uPlot.min.css']) {
    const response = await fetch(`${base}${path}`, { method: 'HEAD', headers: auth })
    expect([path, response.status]).toEqual([path, 200])
    expect(await response.text()).toBe('')
  }
})

test('a purge of selected rows acts on exactly those rows, even when another dead letter has the same message id', async () => {
  // An idempotency key reused after its first message died: two dead letters, one message id.
  await sql`INSERT INTO ${dead()} (id, message_id, topic, key, payload, attempts, last_error, created_at)
            VALUES (11, 'dup', 'mail', 'k', '{}', 3, 'Error: first', now()), (12, 'dup', 'mail', 'k', '{}', 3, 'Error: second', now())`.execute(t.db)
  const { base } = await serve()
  const r = await change(base, { action: 'purge', deadIds: ['12'] })
  expect(r).toEqual({ status: 200, body: expect.objectContaining({ selected: 1, done: 1 }) })
  const left = await sql<{ id: string }>`SELECT id::text FROM ${dead()} ORDER BY id`.execute(t.db)
  expect(left.rows.map((row) => row.id)).toEqual(['11'])
  // Ids that are not the dead table's (a message id, a number past bigint) are refused, not guessed at.
  expect((await change(base, { action: 'purge', deadIds: ['dup'] })).status).toBe(400)
  expect((await change(base, { action: 'purge', deadIds: ['9'.repeat(19)] })).status).toBe(400)
})
