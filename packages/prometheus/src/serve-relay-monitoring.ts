import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Relay } from '@txbox/core'
import type { Kysely } from 'kysely'
import { monitoringHandler } from './monitoring-handler.js'
import { relayHealth } from './relay-health.js'
import { relayMetrics } from './relay-metrics.js'

/** Options of {@link serveRelayMonitoring}. */
export interface ServeRelayMonitoringOptions {
  /** The relay's database, for the readiness check. */
  db: Kysely<any>
  /** The port to listen on; 0 picks a free one (see the result's `port`). */
  port: number
  /** The address to listen on. Default `0.0.0.0` (all IPv4 interfaces), so that Prometheus and the kubelet reach it. */
  host?: string
  /** See {@link RelayHealthOptions.maxCycleAgeMs}. */
  maxCycleAgeMs?: number
}

/** A running monitoring server. */
export interface RelayMonitoringServer {
  /** The port it listens on. */
  readonly port: number
  /** `http://host:port`, for logs. */
  readonly url: string
  /** Stops the server and the relay listeners. Idempotent. */
  close(): Promise<void>
}

/**
 * Serves a relay's metrics (`/metrics`), liveness (`/healthz`) and readiness
 * (`/readyz`) on a port of their own: what `txbox relay --metrics-port` runs.
 * Resolves once the server listens.
 */
export async function serveRelayMonitoring(relay: Relay, options: ServeRelayMonitoringOptions): Promise<RelayMonitoringServer> {
  const metrics = relayMetrics(relay)
  const health = relayHealth(relay, { db: options.db, ...(options.maxCycleAgeMs === undefined ? {} : { maxCycleAgeMs: options.maxCycleAgeMs }) })
  const server = createServer(monitoringHandler({ registry: metrics.registry, health }))
  // Prometheus keeps its connection open between scrapes: do not let it hold close() up.
  server.keepAliveTimeout = 5_000
  const host = options.host ?? '0.0.0.0'
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    metrics.close()
    health.close()
    throw error
  }
  const port = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        metrics.close()
        health.close()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}
