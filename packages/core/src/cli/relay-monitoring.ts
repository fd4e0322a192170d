import type { Kysely } from 'kysely'
import type { Logger } from '../logger.js'
import type { Relay } from '../relay/create-relay.js'
import { CliError } from './cli-error.js'
import { describeError } from './describe-error.js'
import { importFromProject } from './import-from-project.js'

/** The monitoring server `txbox relay --metrics-port` runs, from @txbox/prometheus. */
export interface RelayMonitoring {
  close(): Promise<void>
}

/**
 * Serves the relay's Prometheus metrics and health checks (`/metrics`,
 * `/healthz`, `/readyz`) with @txbox/prometheus, loaded from the user's
 * project like a broker adapter: prom-client stays out of the core.
 * Call it before `relay.start()`, so that the first batch is counted.
 */
export async function startRelayMonitoring(
  relay: Relay,
  db: Kysely<any>,
  options: { port: number; host: string; pollInterval: number },
  logger: Logger,
): Promise<RelayMonitoring> {
  const install = 'npm install @txbox/prometheus prom-client'
  const monitoring = await importFromProject('@txbox/prometheus', '--metrics-port', install)
  let server: { url: string; close(): Promise<void> }
  try {
    // An idle relay cycles every poll interval; allow three missed ones, and a minute at least (a slow broker).
    server = await monitoring.serveRelayMonitoring(relay, { db, port: options.port, host: options.host, maxCycleAgeMs: Math.max(60_000, 3 * options.pollInterval) })
  } catch (error) {
    throw new CliError(`cannot serve metrics on ${options.host}:${options.port}: ${describeError(error)}`, 'failure', { cause: error })
  }
  logger.info({ metrics: `${server.url}/metrics` }, `serving metrics at ${server.url}/metrics, health at /healthz and /readyz`)
  return server
}
