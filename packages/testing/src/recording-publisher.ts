import type { OutboxMessage, Publisher, PublishResult } from '@txbox/core'

/**
 * A Publisher for relay tests: records what it was asked to publish, in call
 * order, and fails what the test tells it to. It stands in for a broker in
 * tests of the relay's own logic; adapters are tested against real brokers.
 */
export interface RecordingPublisher extends Publisher {
  /** Every confirmed message, in the order confirmed. */
  readonly confirmed: OutboxMessage[]
  /** Every publish call's messages, including failed ones. */
  readonly calls: OutboxMessage[][]
  /** Decide per message: return an Error to fail it (permanent if `permanent` is set on it). */
  failWhen(rule: ((m: OutboxMessage) => Error | undefined) | undefined): void
  /** Hold every publish call until the returned function is called. */
  hold(): () => void
  /** Make the next calls throw. */
  throwOnPublish(error: Error | undefined): void
}

export function recordingPublisher(options: { stopsKeyOnFailure?: boolean } = {}): RecordingPublisher {
  const confirmed: OutboxMessage[] = []
  const calls: OutboxMessage[][] = []
  let rule: ((m: OutboxMessage) => Error | undefined) | undefined
  let gate: Promise<void> | undefined
  let throwing: Error | undefined
  return {
    stopsKeyOnFailure: options.stopsKeyOnFailure === true,
    confirmed,
    calls,
    failWhen(r) {
      rule = r
    },
    hold() {
      let release!: () => void
      gate = new Promise((resolve) => {
        release = resolve
      })
      return () => {
        gate = undefined
        release()
      }
    },
    throwOnPublish(error) {
      throwing = error
    },
    async publish(messages): Promise<PublishResult[]> {
      calls.push([...messages])
      if (gate) await gate
      if (throwing) throw throwing
      const failedKeys = new Set<string>()
      return messages.map((m) => {
        if (options.stopsKeyOnFailure && m.key !== null && failedKeys.has(m.key)) {
          return { ok: false, error: new Error('held back behind its key') }
        }
        const error = rule?.(m)
        if (error && m.key !== null) failedKeys.add(m.key)
        if (error) return { ok: false, error, permanent: (error as { permanent?: boolean }).permanent === true }
        confirmed.push(m)
        return { ok: true }
      })
    },
  }
}
