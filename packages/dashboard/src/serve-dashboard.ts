import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dashboardHandler } from './dashboard-handler.js'
import type { DashboardOptions } from './dashboard-options.js'

/** Options of {@link serveDashboard}. */
export interface ServeDashboardOptions extends Omit<DashboardOptions, 'basePath'> {
  /** The port to listen on; 0 picks a free one (see the result's `port`). */
  port: number
  /** The address to listen on. Default `127.0.0.1`: loopback only. */
  host?: string
}

/** A running dashboard server. */
export interface DashboardServer {
  readonly port: number
  /** `http://host:port`, without the token. */
  readonly url: string
  /** Stops the server and the sampling. Idempotent. */
  close(): Promise<void>
}

/** Serves the dashboard on a port of its own: what `txbox dashboard` runs. Resolves once the server listens. */
export async function serveDashboard(options: ServeDashboardOptions): Promise<DashboardServer> {
  const { port, host = '127.0.0.1', ...handlerOptions } = options
  const handler = dashboardHandler(handlerOptions)
  const server = createServer(handler)
  server.keepAliveTimeout = 5_000
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await handler.close()
    throw error
  }
  const bound = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close() {
      closing ??= Promise.all([
        handler.close(),
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
      ]).then(() => undefined)
      return closing
    },
  }
}
