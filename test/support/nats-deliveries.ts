import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream'
import type { Delivery } from './invariants.js'

/**
 * Everything a JetStream stream holds, in stream order, as deliveries for
 * the invariant checker (message id = `Nats-Msg-Id`). Read with an ordered
 * consumer, which the server removes once idle.
 */
export async function readJetStreamDeliveries(js: JetStreamClient, jsm: JetStreamManager, stream: string): Promise<Delivery[]> {
  const { state } = await jsm.streams.info(stream)
  if (state.messages === 0) return []
  const reader = await js.consumers.get(stream)
  const messages = await reader.consume({ max_messages: 1000 })
  const out: Delivery[] = []
  try {
    for await (const m of messages) {
      out.push({ messageId: m.headers?.get('Nats-Msg-Id') ?? '' })
      if (m.info.pending === 0) break
    }
  } finally {
    messages.stop()
  }
  return out
}

/** How many message ids occur more than once in the `confirmedSubject` log (JSON arrays of ids, one per publish call) that `stream` keeps. */
export async function countConfirmedTwice(js: JetStreamClient, jsm: JetStreamManager, stream: string): Promise<{ confirmations: number; repeated: number }> {
  const { state } = await jsm.streams.info(stream)
  if (state.messages === 0) return { confirmations: 0, repeated: 0 }
  const reader = await js.consumers.get(stream)
  const messages = await reader.consume({ max_messages: 1000 })
  const seen = new Map<string, number>()
  try {
    for await (const m of messages) {
      for (const id of m.json<string[]>()) seen.set(id, (seen.get(id) ?? 0) + 1)
      if (m.info.pending === 0) break
    }
  } finally {
    messages.stop()
  }
  const counts = [...seen.values()]
  return { confirmations: counts.reduce((a, b) => a + b, 0), repeated: counts.filter((c) => c > 1).length }
}
