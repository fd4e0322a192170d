import type { IncomingMessage, ServerResponse } from 'node:http'
import { consoleLogger, InvalidOptionError, TxboxError } from '@txbox/core'
import { AccessControl } from './access-control.js'
import { type ApiContext, getApi, postChange, sendJson } from './api-routes.js'
import type { DashboardOptions } from './dashboard-options.js'
import { isDatabaseUnreachable } from './database-unreachable.js'
import { History } from './history.js'
import { outboxTables } from './queries/outbox-tables.js'
import { BadRequest } from './request-body.js'
import { renderPage, serveAsset } from './static-assets.js'

/** A Node.js request handler serving the dashboard; also an Express middleware (it calls `next` for other paths). */
export interface DashboardHandler {
  (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void
  /** Resolves once the first sample of the outbox was taken (the charts' first point). */
  readonly ready: Promise<void>
  /** Stops sampling and the relay listeners. Idempotent. */
  close(): Promise<void>
}

// The page's scripts and styles are its own files; nothing inline, nothing from elsewhere.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // The first URL carries the token: never send it on.
  'referrer-policy': 'no-referrer',
}

/**
 * The dashboard as a request handler, for `http.createServer`, Express
 * (`app.use('/txbox', handler)`) or Fastify (in an `onRequest` hook:
 * `reply.hijack(); handler(request.raw, reply.raw)`, before Fastify reads the
 * body). Serves the page at its root, with `assets/` and `api/` below it.
 *
 * Read-only unless `allowChanges`; behind `token` (or your own middleware,
 * with `token: false`). Retry and purge run the core's retryDeadLetters and
 * purgeDeadLetters, as `txbox dead retry|purge` does, and are logged.
 *
 * @example
 * const dashboard = dashboardHandler({ db, token: process.env.DASHBOARD_TOKEN!, allowChanges: true })
 * app.use('/txbox', requireAdmin, dashboard)
 */
export function dashboardHandler(options: DashboardOptions): DashboardHandler {
  const tables = outboxTables(options)
  const access = new AccessControl(options.token)
  const logger = options.logger ?? consoleLogger
  const basePath = (options.basePath ?? '').replace(/\/+$/, '')
  // A path without its leading slash would match no request: every one would get a 404.
  if (basePath !== '' && !/^\/[^?#\s]*$/.test(basePath)) {
    throw new InvalidOptionError('basePath', `dashboard: basePath must be a path starting with '/', such as '/txbox' (no query, no spaces), got ${JSON.stringify(options.basePath)}.`)
  }
  const interval = options.sampleIntervalMs ?? 10_000
  if (!Number.isInteger(interval) || interval < 100) throw new InvalidOptionError('sampleIntervalMs', 'dashboard: sampleIntervalMs must be an integer of at least 100 (ms).')
  const onSampleError = (error: unknown) => logger.warn({ err: error }, 'dashboard: sampling the outbox failed; the charts miss a point')
  const history = new History(options.db, tables, interval, options.relays ?? [], onSampleError)
  const context: ApiContext = {
    db: options.db,
    tables,
    tableOptions: { schema: tables.schema, outboxTable: tables.outboxName, deadTable: tables.deadName },
    history,
    allowChanges: options.allowChanges === true,
    logger,
    actor: options.actor,
  }
  const ready = history.start()

  const serve = async (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => {
    const url = requestUrl(request.url)
    if (basePath !== '' && url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) return notFound(response, next)
    const path = url.pathname.slice(basePath.length)
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value)

    if (path.startsWith('/assets/') && (request.method === 'GET' || request.method === 'HEAD')) {
      if (!(await serveAsset(path.slice('/assets/'.length), response))) notFound(response, next)
      return
    }
    if (path === '' || path === '/') {
      // The page's links are relative: it must be served at a URL ending in '/'.
      // One leading slash: '//host/' would send the browser to another site.
      const shown = (((request as { originalUrl?: string }).originalUrl ?? request.url ?? '/').split('?')[0] as string).replace(/^[/\\]+/, '/')
      if (path === '' || !shown.endsWith('/')) return redirect(response, `${shown}/${url.search}`)
      if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, { error: 'GET only' })
      const tokenGiven = access.tokenFromQuery(url)
      if (tokenGiven === true) {
        response.setHeader('set-cookie', access.sessionCookie(shown))
        return redirect(response, './')
      }
      if (tokenGiven === false || access.check(request) === 'denied') return sendDenied(response, tokenGiven === false)
      const page = await renderPage({ csrf: access.csrfToken, allowChanges: String(context.allowChanges) })
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page)
      return
    }
    if (path.startsWith('/api/')) {
      if (access.check(request) === 'denied') return sendJson(response, 401, { error: 'open the dashboard with its token first (…/?token=…), or send Authorization: Bearer <token>' })
      const route = path.slice('/api/'.length)
      if (request.method === 'GET') {
        if (!(await getApi(route, url, context, response))) sendJson(response, 404, { error: `no API route ${route}` })
        return
      }
      if (request.method === 'POST' && route === 'dead-letters/changes') {
        const forgery = access.forgeryReason(request)
        if (forgery !== undefined) {
          logger.warn({ reason: forgery }, `dashboard: a change was refused: ${forgery}`)
          return sendJson(response, 403, { error: forgery })
        }
        return postChange(request, context, response)
      }
      return sendJson(response, 405, { error: `${request.method} ${route} is not allowed` })
    }
    notFound(response, next)
  }

  const handler = ((request, response, next) => {
    serve(request, response, next).catch((error: unknown) => {
      if (error instanceof BadRequest || error instanceof TxboxError) {
        if (!response.headersSent) sendJson(response, 400, { error: error.message })
        return
      }
      // The page gets no error text: a driver's message may name a host or a user.
      const unreachable = isDatabaseUnreachable(error)
      logger.error({ err: error }, unreachable ? 'dashboard: a request failed: the database does not answer' : 'dashboard: a request failed')
      if (response.headersSent) response.end()
      else if (unreachable) sendJson(response, 503, { error: 'the database does not answer; the server log says why' })
      else sendJson(response, 500, { error: 'the request failed; the server log says why' })
    })
  }) as DashboardHandler
  return Object.assign(handler, { ready, close: () => history.close() })
}

/**
 * The request's URL. Read as a path, never as a URL of its own: `new URL('//evil.example/', base)`
 * would take evil.example for the host, and '/' for the path.
 */
function requestUrl(target: string | undefined): URL {
  const path = target ?? '/'
  return new URL(`http://dashboard.invalid${path.startsWith('/') ? '' : '/'}${path}`)
}

function notFound(response: ServerResponse, next?: (error?: unknown) => void): void {
  if (next) {
    next()
    return
  }
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
}

function redirect(response: ServerResponse, location: string): void {
  response.writeHead(303, { location, 'cache-control': 'no-store' }).end()
}

function sendDenied(response: ServerResponse, wrongToken: boolean): void {
  const why = wrongToken ? 'That token is wrong.' : 'This txbox dashboard needs its access token.'
  response
    .writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
    .end(`${why} Open the URL \`txbox dashboard\` printed (…/?token=…), or the one your operator gave you.\n`)
}
