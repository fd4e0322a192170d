import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import type { HealthReport, RelayHealth } from './relay-health.js'

/** What {@link monitoringHandler} serves. */
export interface MonitoringHandlerOptions {
  /** Served at `/metrics` in the Prometheus text format. */
  registry?: Registry
  /** Served at `/healthz` (liveness) and `/readyz` (readiness). */
  health?: RelayHealth
}

/** A Node.js request handler; also an Express middleware (it calls `next` for other paths). */
export type MonitoringRequestHandler = (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => void

/**
 * A request handler serving `/metrics`, `/healthz` and `/readyz`: for
 * `http.createServer`, Express (`app.use(handler)`), or Fastify (in a route:
 * `reply.hijack(); handler(request.raw, reply.raw)`). Other paths get a 404,
 * or go to `next` under Express.
 *
 * @example
 * const metrics = relayMetrics(relay)
 * const health = relayHealth(relay, { db })
 * http.createServer(monitoringHandler({ registry: metrics.registry, health })).listen(9464)
 */
export function monitoringHandler(options: MonitoringHandlerOptions): MonitoringRequestHandler {
  const { registry, health } = options
  return (request, response, next) => {
    const path = (request.url ?? '/').split('?')[0]?.replace(/\/+$/, '') ?? ''
    const serve = async () => {
      if (path.endsWith('/metrics') && registry) {
        const body = await registry.metrics()
        response.writeHead(200, { 'content-type': registry.contentType }).end(body)
      } else if (path.endsWith('/healthz') && health) {
        sendReport(response, health.live())
      } else if (path.endsWith('/readyz') && health) {
        sendReport(response, await health.ready())
      } else if (next) {
        next()
      } else {
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics, /healthz or /readyz\n')
      }
    }
    serve().catch((error: Error) => {
      if (next) return next(error)
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      response.end(`${error.message}\n`)
    })
  }
}

function sendReport(response: ServerResponse, report: HealthReport): void {
  response.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(report)}\n`)
}
