import { waitFor } from '@txbox/testing'
import { countOutbox, readDeadNs, readLeftovers } from './outbox-rows.js'
import type { RelayFleet } from './relay-fleet.js'
import type { RunEnvironment } from './run-environment.js'
import type { BrokerDelivery, LeftoverRow } from './run-history.js'
import type { RunConfig } from './scenario-model.js'

/** Time the clean relays get to empty the outbox: ample for a few hundred messages, delays and backoff included. */
const DRAIN_MS = 15_000

/**
 * The end of a bounded run: faults are over, the fault phase's relays are
 * stopped, and a clean relay (same role, same settings, no faults) works
 * until the outbox is empty. What it cannot publish in that time is left
 * over, and reported as stuck.
 */
export async function drainWithCleanRelays(env: RunEnvironment, fleet: RelayFleet, config: RunConfig): Promise<LeftoverRow[]> {
  await fleet.start([2])
  try {
    await waitFor(async () => (await countOutbox(env)) === 0, { timeoutMs: DRAIN_MS + config.publishTimeoutMs, intervalMs: 50 }).catch(() => {})
  } finally {
    await fleet.stopAll()
  }
  return readLeftovers(env)
}

/** What the broker holds, and the dead letters, once everything stopped. */
export async function readEndState(env: RunEnvironment): Promise<{ deliveries: BrokerDelivery[]; finalDead: number[] }> {
  return { deliveries: await env.broker.deliveries(), finalDead: await readDeadNs(env) }
}
