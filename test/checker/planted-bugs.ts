import type { OutboxMessage, Publisher, PublishResult } from '@txbox/core'

/**
 * Publishers with a known bug, for the checker's self-test: a checker that
 * does not catch these is broken. Each wraps a real publisher and keeps its
 * `stopsKeyOnFailure`.
 */

/** Reports the `nth` message it is given (1-based) published, and never sends it. */
export function droppingPublisher(inner: Publisher, nth = 3): Publisher {
  let seen = 0
  return {
    stopsKeyOnFailure: inner.stopsKeyOnFailure,
    async publish(messages, context) {
      const dropAt = messages.findIndex(() => ++seen === nth)
      if (dropAt < 0) return inner.publish(messages, context)
      const sent = messages.filter((_, i) => i !== dropAt)
      const results = sent.length > 0 ? [...(await inner.publish(sent, context))] : []
      results.splice(dropAt, 0, { ok: true })
      return results
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  }
}

/**
 * Reports the first keyed message it is given published without sending it,
 * then sends it after the messages of the next call that carries its key: a
 * later message of the key reaches the broker first.
 */
export function reorderingPublisher(inner: Publisher): Publisher {
  let held: OutboxMessage | undefined
  let done = false
  return {
    stopsKeyOnFailure: inner.stopsKeyOnFailure,
    async publish(messages, context): Promise<readonly PublishResult[]> {
      if (!done && held === undefined) {
        const at = messages.findIndex((m) => m.key !== null)
        if (at >= 0) {
          held = messages[at] as OutboxMessage
          const sent = messages.filter((_, i) => i !== at)
          const results = sent.length > 0 ? [...(await inner.publish(sent, context))] : []
          results.splice(at, 0, { ok: true })
          return results
        }
      }
      if (held && messages.some((m) => m.key === held?.key)) {
        const late = held
        held = undefined
        done = true
        const results = await inner.publish(messages, context)
        await inner.publish([late], context)
        return results
      }
      return inner.publish(messages, context)
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  }
}

/** Sends the `nth` message it is given (1-based) twice, and reports it published once. */
export function duplicatingPublisher(inner: Publisher, nth = 3): Publisher {
  let seen = 0
  return {
    stopsKeyOnFailure: inner.stopsKeyOnFailure,
    async publish(messages, context) {
      const at = messages.findIndex(() => ++seen === nth)
      const results = await inner.publish(messages, context)
      if (at >= 0 && results[at]?.ok) await inner.publish([messages[at] as OutboxMessage], context)
      return results
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  }
}
