import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { migrate } from '@txbox/core'
import { dashboardHandler, type DashboardHandler } from '@txbox/dashboard'
import { useTestDatabase } from '@txbox/testing'
import express from 'express'
import Fastify from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

// The handler mounted as docs/dashboard.md shows: under a path of a plain
// Node server, in Express (after the user's own middleware and
// express.json()), and in a Fastify onRequest hook. Each serves the page,
// its assets and API, and takes a change.
const t = useTestDatabase('dash_mount')
const handlers: DashboardHandler[] = []
const servers: http.Server[] = []

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
})

afterAll(async () => {
  await Promise.all(handlers.map((h) => h.close()))
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve())
          s.closeAllConnections()
        }),
    ),
  )
})

function handler(options: { basePath?: string; actor?: (request: http.IncomingMessage) => string } = {}): DashboardHandler {
  const h = dashboardHandler({ db: t.db, schema: t.schema, token: false, allowChanges: true, logger: quiet, ...options })
  handlers.push(h)
  return h
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} }

async function listen(server: http.Server): Promise<string> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function addDeadLetter(messageId: string): Promise<void> {
  await sql`INSERT INTO ${sql.id(t.schema, 'outbox_dead')} (id, message_id, topic, key, payload, attempts, last_error, created_at)
    VALUES ((SELECT coalesce(max(id), 0) + 1 FROM ${sql.id(t.schema, 'outbox_dead')}), ${messageId}, 'mount.test', null, '{}', 1, 'boom', now())`.execute(t.db)
}

async function deadLetterIds(): Promise<string[]> {
  const { rows } = await sql<{ message_id: string }>`SELECT message_id FROM ${sql.id(t.schema, 'outbox_dead')} ORDER BY id`.execute(t.db)
  return rows.map((r) => r.message_id)
}

/** A GET's status, its body read (an unread body keeps the connection open). */
async function status(url: string | URL): Promise<number> {
  const response = await fetch(url, { redirect: 'manual' })
  await response.arrayBuffer()
  return response.status
}

/** Loads the page at `root` (which ends in '/') the way a browser does, then purges `messageId` through its API. */
async function usePage(root: string, messageId: string): Promise<void> {
  const page = await fetch(root)
  expect(page.status).toBe(200)
  const html = await page.text()
  const csrf = /name="txbox-csrf" content="([^"]+)"/.exec(html)?.[1] as string
  for (const asset of ['assets/dashboard.js', 'assets/vendor/uPlot.iife.min.js', 'assets/dashboard.css']) {
    expect(await status(new URL(asset, root)), asset).toBe(200)
  }
  const overview = await fetch(new URL('api/overview', root))
  expect(overview.status).toBe(200)
  expect(((await overview.json()) as { allowChanges: boolean }).allowChanges).toBe(true)
  const change = await fetch(new URL('api/dead-letters/changes', root), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-txbox-csrf': csrf, origin: new URL(root).origin },
    body: JSON.stringify({ action: 'purge', messageIds: [messageId] }),
  })
  expect(await change.json()).toMatchObject({ action: 'purge', selected: 1, done: 1 })
  expect(await deadLetterIds()).not.toContain(messageId)
}

describe('plain Node http with basePath', () => {
  test.each(['/txbox', '/txbox/', '/ops/txbox'])('basePath %s', async (basePath) => {
    const base = await listen(http.createServer(handler({ basePath })))
    const mount = basePath.replace(/\/$/, '')
    // Without the trailing slash: redirected to the page's own URL, whose relative links then work.
    const bare = await fetch(`${base}${mount}`, { redirect: 'manual' })
    expect([bare.status, bare.headers.get('location')]).toEqual([303, `${mount}/`])
    // Outside the mount: not the dashboard's.
    expect(await status(`${base}${mount}x/`)).toBe(404)
    expect(await status(`${base}/api/overview`)).toBe(404)
    const messageId = `plain-${mount}`
    await addDeadLetter(messageId)
    await usePage(`${base}${mount}/`, messageId)
  })
})

test('Express: app.use(path, middleware, express.json(), handler), the actor from the middleware', async () => {
  const logged: string[] = []
  const app = express()
  app.use('/txbox', (request, _response, next) => {
    ;(request as unknown as { user: string }).user = 'ops@example.com'
    next()
  })
  // A body another middleware parsed already is used as it is.
  app.use(express.json())
  const dashboard = dashboardHandler({
    db: t.db,
    schema: t.schema,
    token: false,
    allowChanges: true,
    actor: (request) => (request as unknown as { user: string }).user,
    logger: { ...quiet, info: (_fields: unknown, message: string) => void logged.push(message) },
  })
  handlers.push(dashboard)
  app.use('/txbox', dashboard)
  app.get('/other', (_request, response) => void response.send('app route'))
  const base = await listen(http.createServer(app))

  const bare = await fetch(`${base}/txbox`, { redirect: 'manual' })
  expect([bare.status, bare.headers.get('location')]).toEqual([303, '/txbox/'])
  // The handler calls next() for what is not its own: the app's routes still answer.
  expect(await (await fetch(`${base}/other`)).text()).toBe('app route')
  expect(await status(`${base}/txbox/nothing-here`)).toBe(404)
  await addDeadLetter('express-1')
  await usePage(`${base}/txbox/`, 'express-1')
  expect(logged.some((line) => line.startsWith('dashboard: ops@example.com purged 1 of 1'))).toBe(true)
})

test('Fastify: handed over in an onRequest hook, as the docs show', async () => {
  const dashboard = handler({ basePath: '/txbox' })
  const app = Fastify()
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.url.startsWith('/txbox')) return done()
    reply.hijack()
    dashboard(request.raw, reply.raw)
  })
  app.get('/other', async () => 'app route')
  await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    expect(await (await fetch(`${base}/other`)).text()).toBe('app route')
    await addDeadLetter('fastify-1')
    await usePage(`${base}/txbox/`, 'fastify-1')
  } finally {
    await app.close()
  }
})
