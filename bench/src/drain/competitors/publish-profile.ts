import type { Publisher } from '@txbox/core'

/**
 * Wraps a publisher to see how the relay uses it: calls, messages per call,
 * and the time spent inside publish() (the broker's share of a drain).
 * Keeps `stopsKeyOnFailure`, so the relay plans the same waves.
 */
export class PublishProfile {
  calls = 0
  messages = 0
  publishMs = 0
  drainMs = 0
  batches = 0
  /** Batches the relay settled with fewer rows than its batchSize (in waves it takes few rows per lane; it claims again at once while claims find work). */
  shortBatches = 0

  wrap(inner: Publisher): Publisher {
    const profile = this
    return {
      ...(inner.stopsKeyOnFailure === undefined ? {} : { stopsKeyOnFailure: inner.stopsKeyOnFailure }),
      async publish(messages, context) {
        const t0 = performance.now()
        try {
          return await inner.publish(messages, context)
        } finally {
          profile.publishMs += performance.now() - t0
          profile.calls += 1
          profile.messages += messages.length
        }
      },
      close: () => inner.close?.() ?? Promise.resolve(),
    }
  }

  /** One sentence: publish calls per batch, messages per call, and the share of the drain spent in publish(). */
  describe(): string | undefined {
    if (this.calls === 0 || this.batches === 0) return undefined
    // The relay runs `concurrency` loops (default 2): publish() can be busy for more than 100% of the wall clock.
    const share = this.drainMs > 0 ? `, publish() busy ${Math.round((100 * this.publishMs) / this.drainMs)}% of the drain's wall time (summed over the relay's loops)` : ''
    return `${(this.calls / this.batches).toFixed(1)} publish calls per batch, ${(this.messages / this.calls).toFixed(1)} messages per call, ${(this.publishMs / this.calls).toFixed(2)} ms per call${share}; ${this.shortBatches} of ${this.batches} batches held fewer rows than batchSize`
  }
}
