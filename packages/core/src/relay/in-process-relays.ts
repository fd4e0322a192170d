/**
 * The relays running in this process, by the wake-up channel of their outbox
 * (one per schema and outbox table), so that a commit in this process wakes
 * them directly: no NOTIFY, no LISTEN connection, no round trip.
 *
 * Kept on globalThis under a registered symbol, not in a module variable: two
 * copies of @txbox/core in one process (two bundles, two installed versions)
 * must still find each other's relays, or a relay would silently fall back to
 * polling.
 *
 * Keyed by channel only, not by database: a process writing to two databases
 * with the same schema and table names wakes both relays for a commit in
 * either. The relay woken in vain claims nothing and sleeps again; that costs
 * one claim, never a message.
 */
type Wake = () => void

const REGISTRY = Symbol.for('txbox.in-process-relays.v1')

function registry(): Map<string, Set<Wake>> {
  const holder = globalThis as { [REGISTRY]?: Map<string, Set<Wake>> }
  holder[REGISTRY] ??= new Map()
  return holder[REGISTRY]
}

/** Adds a running relay; returns the function that removes it (call it on stop). */
export function registerInProcessRelay(channel: string, wake: Wake): () => void {
  const relays = registry()
  let set = relays.get(channel)
  if (!set) {
    set = new Set()
    relays.set(channel, set)
  }
  set.add(wake)
  return () => {
    const current = relays.get(channel)
    if (!current) return
    current.delete(wake)
    if (current.size === 0) relays.delete(channel)
  }
}

/** Wakes this process's relays of `channel`'s outbox; synchronous and cheap (a map lookup when none runs). */
export function wakeInProcessRelays(channel: string): void {
  const set = registry().get(channel)
  if (!set) return
  for (const wake of set) {
    try {
      wake()
    } catch {
      // A relay's wake-up only ends a sleep; it must never fail a writer's commit hook.
    }
  }
}
