import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { migrate } from '@txbox/core'
import { dashboardHandler, type DashboardHandler } from '@txbox/dashboard'
import { useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'

// Topics, keys, message ids and errors a page must show as text, whatever
// they hold: HTML, quotes, </script>, emoji, 255-byte names, spaces at the
// ends. Driven in Debian's headless Chromium.
const t = useTestDatabase('dash_odd')
const TOKEN = 'odd-data-test-token-0123456789'
const HTML = `<img src=x onerror="window.__xss=1">"'</script><script>window.__xss=2</script><b>bold</b> 😀`
const LONG = `${'é'.repeat(127)}x` // 255 bytes, no place to break
const SPACED = '  spaced topic  '
let handler: DashboardHandler
let server: http.Server
let browser: Browser
let base: string

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  const dead = sql.id(t.schema, 'outbox_dead')
  const outbox = sql.id(t.schema, 'outbox')
  await sql`INSERT INTO ${dead} (id, message_id, topic, key, payload, headers, attempts, last_error, created_at) VALUES
    (1, ${HTML}, ${HTML}, ${HTML}, ${JSON.stringify({ html: HTML })}::jsonb, ${JSON.stringify({ [HTML]: HTML })}::jsonb, 3, ${HTML}, now()),
    (2, ${LONG}, ${LONG}, ${LONG}, ${JSON.stringify({ [LONG]: LONG })}::jsonb, null, 1, ${LONG}, now()),
    (3, 'spaced-1', ${SPACED}, ${SPACED}, '{}', null, 1, 'e', now())`.execute(t.db)
  await sql`INSERT INTO ${outbox} (message_id, topic, key, payload) VALUES ('w1', ${HTML}, 'k', '{}'), ('w2', ${LONG}, ${LONG}, '{}')`.execute(t.db)
  handler = dashboardHandler({ db: t.db, schema: t.schema, token: TOKEN, allowChanges: true, logger: { debug() {}, info() {}, warn() {}, error() {} } })
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
})

async function openPage(): Promise<{ page: Page; dialogs: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.setDefaultTimeout(8_000)
  const dialogs: string[] = []
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  await page.goto(`${base}/?token=${TOKEN}`)
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 })
  return { page, dialogs }
}

test('HTML, quotes, </script> and emoji in every field show as text and run nothing', async () => {
  const { page, dialogs } = await openPage()
  try {
    const topics = await page.$$eval('#topics tbody tr td:first-child', (cells) => cells.map((c) => c.textContent))
    expect(topics).toContain(HTML)
    const row = await page.$$eval('#dead tbody tr.dead-row', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].slice(2, 7).map((c) => c.textContent)).find((cells) => cells[2]?.includes('onerror')),
    )
    expect(row).toEqual([HTML, HTML, HTML, '3', HTML])
    await page.click(`#dead tbody tr.dead-row[data-id="1"] td.payload`)
    await page.waitForSelector('#dead-detail:not([hidden])')
    const detail = JSON.parse((await page.textContent('#dead-detail')) as string)
    expect(detail).toMatchObject({ messageId: HTML, payload: { html: HTML }, headers: { [HTML]: HTML } })
    // Nothing ran, nothing was parsed as markup: no image, no bold, no dialog.
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined()
    expect(await page.$$('main img, main b, main script')).toEqual([])
    expect(dialogs).toEqual([])
  } finally {
    await page.close()
  }
})

test('255-byte names without a place to break do not push the page wider than the window', async () => {
  const { page } = await openPage()
  try {
    expect(await page.$$eval('#topics tbody tr td:first-child', (cells) => cells.map((c) => c.textContent))).toContain(LONG)
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }))
    expect(widths.page).toBeLessThanOrEqual(widths.window)
  } finally {
    await page.close()
  }
})

test('a topic or key with spaces at its ends can be searched for', async () => {
  const { page } = await openPage()
  try {
    await page.fill('#dead-filter input[name=topic]', SPACED)
    await page.fill('#dead-filter input[name=key]', SPACED)
    await page.click('#dead-filter button[type=submit]')
    await page.waitForFunction(() => /^\(\d+ matching\)$/.test(document.querySelector('#dead-total')?.textContent ?? '') && document.querySelector('#dead-total')?.textContent !== '(3 matching)')
    expect(await page.$$eval('#dead tbody tr.dead-row', (rows) => rows.map((r) => (r as HTMLElement).dataset.messageId))).toEqual(['spaced-1'])
  } finally {
    await page.close()
  }
})
