import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createRelay, migrate } from '@txbox/core'
import { recordingPublisher, useTestDatabase, waitFor, waitForValue } from '@txbox/testing'
import { sql } from 'kysely'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ensureBuilt, ensureCliBuilt, repoRoot, startCli, type CliProcess } from '../../core/test/cli/cli-process.js'

// `txbox dashboard` run as users run it (the built CLI, @txbox/dashboard
// installed in their project), driven in Debian's headless Chromium.
const dashboardPackage = path.join(repoRoot, 'packages/dashboard')
const screenshot = path.join(repoRoot, 'docs/images/dashboard.png')
const project = mkdtempSync(path.join(tmpdir(), 'txbox-dashboard-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(project, 'node_modules/@txbox'), { recursive: true })
symlinkSync(dashboardPackage, path.join(project, 'node_modules/@txbox/dashboard'), 'dir')

const t = useTestDatabase('dashboard')
const WAITING = 100_000
const DEAD = 10_000
let browser: Browser
const started: CliProcess[] = []

beforeAll(async () => {
  await ensureCliBuilt()
  await ensureBuilt(dashboardPackage, 'dist/index.js')
  await migrate(t.db, { schema: t.schema })
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
}, 180_000)

afterAll(async () => {
  for (const cli of started) cli.kill('SIGTERM')
  await Promise.all(started.map((cli) => cli.exited))
  await browser?.close()
  rmSync(project, { recursive: true, force: true })
})

/** Starts `txbox dashboard` and returns the URL it printed, token included. */
async function startDashboard(extra: string[]): Promise<{ cli: CliProcess; url: string }> {
  const cli = startCli(['dashboard', '--port', '0', '--schema', t.schema, '--log-format', 'json', ...extra], { cwd: project, env: { DATABASE_URL: t.url } })
  started.push(cli)
  const url = (await waitForValue(() => /^open (\S+)$/m.exec(cli.stdout())?.[1], (u) => u !== undefined, {
    timeoutMs: 15_000,
    message: `txbox dashboard prints its URL (stderr: ${cli.stderr()})`,
  })) as string
  return { cli, url }
}

async function openPage(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } })
  // Shorter than the test's own timeout: a step that waits in vain names itself.
  page.setDefaultTimeout(8_000)
  page.on('dialog', (dialog) => void dialog.accept())
  await page.goto(url)
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 })
  return page
}

const outbox = () => sql.id(t.schema, 'outbox')
const dead = () => sql.id(t.schema, 'outbox_dead')

async function fillDeadLetters(from: number, count: number, topic: string): Promise<void> {
  await sql`INSERT INTO ${dead()} (id, message_id, topic, key, payload, attempts, last_error, created_at, dead_at)
    SELECT 1000000000 + g, ${topic} || '-' || g, ${topic}, 'customer:' || (g % 50), jsonb_build_object('order', g, 'total', g * 3),
           10, CASE WHEN g % 3 = 0 THEN 'ECONNREFUSED 10.0.0.7:5672' ELSE 'WRONGTYPE Operation against a key holding the wrong kind of value' END,
           now() - interval '2 hours', now() - make_interval(secs => g % 3000)
    FROM generate_series(${from}::int, ${from + count - 1}::int) g`.execute(t.db)
}

test(`the page loads in under a second with ${WAITING} messages waiting and ${DEAD} dead letters`, async () => {
  await sql`INSERT INTO ${outbox()} (message_id, topic, key, payload, created_at)
    SELECT 'bulk-' || g, 'orders.' || (ARRAY['created', 'paid', 'shipped', 'refunded'])[1 + g % 4], 'order:' || (g % 5000),
           jsonb_build_object('order', g), now() - make_interval(secs => g % 900)
    FROM generate_series(1, ${WAITING}::int) g`.execute(t.db)
  await fillDeadLetters(1, DEAD, 'invoice.send')
  await sql`ANALYZE ${outbox()}`.execute(t.db)
  const { url } = await startDashboard([])

  const coldStart = performance.now()
  const page = await openPage(url)
  const coldMs = performance.now() - coldStart
  const warmStart = performance.now()
  await page.reload()
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 })
  const warmMs = performance.now() - warmStart
  console.log(`dashboard page load, ${WAITING} waiting and ${DEAD} dead letters: first ${coldMs.toFixed(0)} ms (token redirect, new browser page), reload ${warmMs.toFixed(0)} ms`)
  const resources = await page.evaluate(() =>
    performance.getEntriesByType('resource').map((e) => `${new URL(e.name).pathname.replace(/^.*\/(assets|api)\//, '$1/')} ${e.duration.toFixed(0)} ms`),
  )
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
    return `html ${nav.responseEnd.toFixed(0)} ms, DOMContentLoaded ${nav.domContentLoadedEventEnd.toFixed(0)} ms, data shown ${document.body.dataset.loadedAfterMs} ms`
  })
  console.log(`  in the page, from navigation start: ${timing}; requests: ${resources.join(', ')}`)
  // The goal is under a second (printed above; docs/dashboard.md). The test
  // shares two cores with the whole suite, so it fails only on a gross
  // regression (a query that scans instead of using its index), not on load.
  expect(warmMs).toBeLessThan(5000)

  const waiting = await page.$$eval('#topics tbody tr', (rows) => rows.map((r) => [r.children[0]?.textContent, r.children[1]?.textContent]))
  expect(waiting).toContainEqual(['orders.created', (WAITING / 4).toLocaleString('en-US')])
  expect(await page.textContent('#dead-total')).toBe(`(${DEAD.toLocaleString('en-US')} matching)`)
  expect(await page.$$eval('#dead tbody tr.dead-row', (rows) => rows.length)).toBe(50)
  // No relay runs: this test's own sessions (which filled and analysed the outbox) are not taken for one.
  expect(await page.textContent('#relays tbody')).toBe('no relay session seen')
  // Paging: the next page starts below the first.
  const firstIds = await page.$$eval('#dead tbody tr.dead-row', (rows) => rows.map((r) => Number((r as HTMLElement).dataset.id)))
  await page.click('#dead-next')
  await page.waitForFunction((min) => Number((document.querySelector('#dead tbody tr.dead-row') as HTMLElement)?.dataset.id) < min, Math.min(...firstIds))
  // The screenshot in docs/dashboard.md is made here (the top of the page, loaded), but only on
  // request: `TXBOX_UPDATE_SCREENSHOTS=1`, so that a test run leaves the working tree clean.
  await page.evaluate(() => window.scrollTo(0, 0))
  const shot = await page.screenshot(process.env.TXBOX_UPDATE_SCREENSHOTS === '1' ? { path: screenshot } : {})
  expect(shot.byteLength).toBeGreaterThan(10_000)
  await page.close()
  await sql`TRUNCATE ${outbox()}, ${dead()}`.execute(t.db)
})

test('retry from the page is published by a running relay; purge deletes; searches find by key and error; changes are logged', async () => {
  await fillDeadLetters(1, 60, 'email.welcome')
  await fillDeadLetters(100, 5, 'sms.reminder')
  const publisher = recordingPublisher()
  const relay = createRelay({ db: t.db, publisher, schema: t.schema, listen: t.pool, pollInterval: 200 })
  await relay.start()
  const { cli, url } = await startDashboard(['--allow-changes'])
  try {
    const page = await openPage(url)
    // The relay shows, from its LISTEN session.
    await waitFor(async () => {
      await page.reload()
      await page.waitForSelector('body[data-loaded="true"]')
      return (await page.$$('#relays tbody tr.relay')).length > 0
    }, { timeoutMs: 10_000, message: 'the page lists the relay' })
    expect(await page.textContent('#relays tbody tr.relay')).toContain('yes')

    // Search by key and error text.
    await page.fill('#dead-filter input[name=key]', 'customer:7')
    await page.fill('#dead-filter input[name=error]', 'econnrefused')
    await page.click('#dead-filter button[type=submit]')
    await page.waitForFunction(() => document.querySelector('#dead-total')?.textContent === '(1 matching)')
    const found = await page.$$eval('#dead tbody tr.dead-row', (rows) => rows.map((r) => (r as HTMLElement).dataset.messageId))
    expect(found).toEqual(['email.welcome-57'])

    // The detail shows payload, headers, attempts and the whole error.
    await page.click('#dead tbody tr.dead-row td.payload')
    await page.waitForSelector('#dead-detail:not([hidden])')
    const detail = JSON.parse((await page.textContent('#dead-detail')) as string)
    expect(detail).toMatchObject({ messageId: 'email.welcome-57', attempts: 10, lastError: 'ECONNREFUSED 10.0.0.7:5672', payload: { order: 57, total: 171 }, headers: {} })

    // Retry one: the relay publishes it.
    await page.check('#dead tbody tr.dead-row input[type=checkbox]')
    await page.click('#dead-actions button[data-action=retry][data-scope=selection]')
    await page.waitForFunction(() => document.querySelector('#dead-outcome')?.textContent?.startsWith('retried 1 of 1'))
    await waitFor(() => publisher.confirmed.some((m) => m.messageId === 'email.welcome-57'), { timeoutMs: 10_000, message: 'the relay publishes the retried message' })
    const published = publisher.confirmed.find((m) => m.messageId === 'email.welcome-57')
    expect(published).toMatchObject({ topic: 'email.welcome', key: 'customer:7' })
    expect(JSON.parse(published?.payload as string)).toEqual({ order: 57, total: 171 })

    // Purge all matching a topic: exactly the rows the search showed.
    await page.fill('#dead-filter input[name=key]', '')
    await page.fill('#dead-filter input[name=error]', '')
    await page.fill('#dead-filter input[name=topic]', 'sms.reminder')
    await page.click('#dead-filter button[type=submit]')
    await page.waitForFunction(() => document.querySelector('#dead-total')?.textContent === '(5 matching)')
    await page.click('#dead-actions button[data-action=purge][data-scope=filter]')
    await page.waitForFunction(() => document.querySelector('#dead-outcome')?.textContent?.startsWith('purged 5 of 5'))
    const left = await sql<{ topic: string; n: string }>`SELECT topic, count(*) AS n FROM ${dead()} GROUP BY topic`.execute(t.db)
    expect(left.rows.map((r) => [r.topic, Number(r.n)])).toEqual([['email.welcome', 59]])

    // A POST without the CSRF token is refused, whatever the cookie.
    const forged = await page.evaluate(async () => {
      const r = await fetch('api/dead-letters/changes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'purge', filter: {} }) })
      return r.status
    })
    expect(forged).toBe(403)
    // Without the token, nothing.
    const anonymous = await fetch(new URL('api/overview', url.replace(/\?.*$/, '')))
    expect(anonymous.status).toBe(401)
    // The page never carries the database URL.
    expect(await page.content()).not.toContain(t.url)
    await page.close()
  } finally {
    await relay.stop()
  }
  await waitFor(() => /retried 1 of 1 dead letter/.test(cli.stderr()) && /purged 5 of 5 dead letter/.test(cli.stderr()), { timeoutMs: 5_000, message: 'changes are logged' })
  expect(cli.stderr()).toMatch(/"action":"purge","actor":"[^"]+","selection":"all matching topic=\\"sms.reminder\\""/)
})

test('read-only (no --allow-changes): the page offers no change and the server refuses retry and purge', async () => {
  const { cli, url } = await startDashboard([])
  const page = await openPage(url)
  expect(await page.textContent('#mode')).toBe('read-only')
  expect(await page.$$eval('#dead-actions button', (buttons) => buttons.every((b) => (b as HTMLButtonElement).disabled))).toBe(true)
  const statuses = await page.evaluate(async () => {
    const csrf = (document.querySelector('meta[name="txbox-csrf"]') as HTMLMetaElement).content
    const post = (body: unknown) =>
      fetch('api/dead-letters/changes', { method: 'POST', headers: { 'content-type': 'application/json', 'x-txbox-csrf': csrf }, body: JSON.stringify(body) }).then((r) => r.status)
    return [await post({ action: 'retry', filter: {} }), await post({ action: 'purge', filter: {} })]
  })
  expect(statuses).toEqual([403, 403])
  expect(Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${dead()}`.execute(t.db)).rows[0]?.n)).toBe(59)
  expect(cli.stderr()).toMatch(/a change was refused: the dashboard is read-only/)
  await page.close()
})
