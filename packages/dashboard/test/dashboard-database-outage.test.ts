import { randomBytes } from 'node:crypto'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { migrate } from '@txbox/core'
import { dashboardHandler, type DashboardHandler } from '@txbox/dashboard'
import { useTestDatabase, waitFor } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'

// PostgreSQL goes away under a running dashboard and comes back: the page
// says so, the server recovers by itself, and no connection is leaked. The
// dashboard reaches the real PostgreSQL through a TCP proxy of this file's
// own, which is stopped (every connection cut, nothing listening) and started
// again on the same port.
const t = useTestDatabase('dash_outage')
const TOKEN = 'outage-test-token-0123456789'
const APPLICATION = `txbox-dash-outage-${randomBytes(3).toString('hex')}`
const POOL_MAX = 3

/** A TCP proxy to PostgreSQL that can be cut and restored on the same port. */
class DatabaseProxy {
  readonly #target = new URL(t.url)
  readonly #sockets = new Set<net.Socket>()
  #server: net.Server | undefined
  port = 0

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.#target.port || 5432), this.#target.hostname)
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket)
        socket.on('error', () => {})
        socket.on('close', () => {
          this.#sockets.delete(socket)
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as AddressInfo).port
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  }
}

const proxy = new DatabaseProxy()
let pool: pg.Pool
let db: Kysely<any>
let handler: DashboardHandler
let server: http.Server
let browser: Browser
let base: string

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  await sql`INSERT INTO ${sql.id(t.schema, 'outbox_dead')} (id, message_id, topic, payload, attempts, last_error, created_at)
    SELECT g, 'outage-' || g, 'outage', '{}', 1, 'boom', now() FROM generate_series(1, 3) g`.execute(t.db)
  await proxy.start()
  const url = new URL(t.url)
  url.host = `127.0.0.1:${proxy.port}`
  pool = new pg.Pool({ connectionString: url.toString(), max: POOL_MAX, application_name: APPLICATION, connectionTimeoutMillis: 5_000 })
  // As the CLI's pool does: a connection that drops is an error of the query on it, not of the process.
  pool.on('error', () => {})
  pool.on('connect', (client) => void client.on('error', () => {}))
  db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  handler = dashboardHandler({ db, schema: t.schema, token: TOKEN, sampleIntervalMs: 200, logger: { debug() {}, info() {}, warn() {}, error() {} } })
  server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await handler?.close()
  server?.closeAllConnections()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await db?.destroy()
  await proxy.stop()
})

async function connections(): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ${APPLICATION}`.execute(t.db)
  return Number(rows[0]?.n)
}

test('the page says the database does not answer, and shows everything again once it does, without a reload', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.setDefaultTimeout(8_000)
  try {
    await page.goto(`${base}/?token=${TOKEN}`)
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 })
    expect(await page.$$eval('#dead tbody tr.dead-row', (rows) => rows.length)).toBe(3)

    await proxy.stop()
    const overview = await fetch(`${base}/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(overview.status).toBe(503)
    expect(((await overview.json()) as { error: string }).error).toMatch(/database does not answer/)
    // A person opening the page now is told why it is empty.
    await page.reload()
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 })
    expect(await page.textContent('#updated')).toMatch(/database does not answer/)
    expect(await page.$$('#dead tbody tr.dead-row')).toEqual([])

    await proxy.start()
    // The page's own refresh brings back the topics and the dead letters.
    await waitFor(async () => (await page.$$('#dead tbody tr.dead-row')).length === 3 && /^sampled /.test((await page.textContent('#updated')) ?? ''), {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'the page shows the dead letters again',
    })
    expect(await page.textContent('#topics tbody')).toContain('outage')
  } finally {
    await page.close()
  }
  // No more sessions than the pool may hold, whatever failed meanwhile.
  expect(await connections()).toBeLessThanOrEqual(POOL_MAX)
}, 60_000)

test('cut while queries run, again and again: the server answers after each return and holds at most its pool', async () => {
  const headers = { authorization: `Bearer ${TOKEN}` }
  for (let round = 0; round < 3; round++) {
    const inFlight = Array.from({ length: 6 }, () => fetch(`${base}/api/dead-letters?limit=50`, { headers }).then((r) => r.status))
    await proxy.stop()
    const statuses = await Promise.all(inFlight)
    for (const status of statuses) expect([200, 503]).toContain(status)
    await proxy.start()
    await waitFor(async () => (await fetch(`${base}/api/dead-letters?limit=50`, { headers })).status === 200, {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: `round ${round}: the server answers again`,
    })
    expect(await connections()).toBeLessThanOrEqual(POOL_MAX)
  }
}, 60_000)
