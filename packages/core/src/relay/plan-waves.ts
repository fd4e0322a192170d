import type { OutboxMessage } from '../publisher.js'

/**
 * Splits a batch (in id order) into waves holding at most one message per
 * key: wave n has each key's n-th message, and every unkeyed message is in
 * wave 0. The relay publishes wave n+1 only once wave n is confirmed, leaving
 * out the keys that failed in it. So when the broker refuses message 5 of a
 * key, message 6 of that key has not left yet, and per-key order holds even
 * under failure. A batch of distinct keys is a single wave.
 */
export function planWaves(batch: readonly OutboxMessage[]): OutboxMessage[][] {
  const waves: OutboxMessage[][] = []
  const depthByKey = new Map<string, number>()
  for (const message of batch) {
    let depth = 0
    if (message.key !== null) {
      depth = depthByKey.get(message.key) ?? 0
      depthByKey.set(message.key, depth + 1)
    }
    ;(waves[depth] ??= []).push(message)
  }
  return waves
}
