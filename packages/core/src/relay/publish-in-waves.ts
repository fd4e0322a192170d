import { PublishTimeoutError } from '../errors/publish-timeout-error.js'
import type { OutboxMessage, Publisher, PublishResult } from '../publisher.js'
import { tracePublish } from '../tracing/send-span.js'
import { planWaves } from './plan-waves.js'

/** What happened to each message of a batch. */
export type Outcome =
  | { readonly kind: 'confirmed' }
  | { readonly kind: 'failed'; readonly error: Error; readonly permanent: boolean; readonly transport: boolean }
  | { readonly kind: 'unattempted' }

/**
 * Publishes a batch within `timeoutMs` and returns an outcome per message,
 * keyed by message id.
 *
 * With `keyOrder`, a message whose key already failed in this batch must not
 * be published: if the publisher promises that itself (`stopsKeyOnFailure`),
 * the batch goes in one call and such messages count as unattempted; if not,
 * one call per wave (see planWaves), leaving out the keys that failed in an
 * earlier wave. Without `keyOrder`, the whole batch goes in one call.
 */
export async function publishBatch(
  publisher: Publisher,
  batch: readonly OutboxMessage[],
  options: { readonly keyOrder: boolean; readonly timeoutMs: number },
): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>()
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new PublishTimeoutError(options.timeoutMs))
      resolve('timeout')
    }, options.timeoutMs)
  })
  try {
    const waves = options.keyOrder && publisher.stopsKeyOnFailure !== true ? planWaves(batch) : [batch as OutboxMessage[]]
    const failedKeys = new Set<string>()
    for (const wave of waves) {
      const send = wave.filter((m) => {
        if (m.key !== null && failedKeys.has(m.key)) {
          outcomes.set(m.id, { kind: 'unattempted' })
          return false
        }
        return true
      })
      if (send.length === 0) continue
      if (controller.signal.aborted) {
        for (const m of send) outcomes.set(m.id, { kind: 'unattempted' })
        continue
      }
      const results = await Promise.race([callPublisher(publisher, send, controller.signal), timedOut])
      if (results === 'timeout') {
        // In key order, a key's retries follow one schedule, its first
        // unconfirmed message's: the later ones of a timed-out call wait behind
        // it unattempted, instead of each getting a retry time of its own
        // (one could come due, and be sent, before the key's head).
        const error = controller.signal.reason as Error
        for (const m of send) {
          if (options.keyOrder && m.key !== null && failedKeys.has(m.key)) outcomes.set(m.id, { kind: 'unattempted' })
          else outcomes.set(m.id, { kind: 'failed', error, permanent: false, transport: true })
          if (m.key !== null) failedKeys.add(m.key)
        }
        continue
      }
      send.forEach((m, i) => {
        const r = results[i] as PublishResult
        if (r.ok) outcomes.set(m.id, { kind: 'confirmed' })
        else if ((options.keyOrder || publisher.stopsKeyOnFailure === true) && m.key !== null && failedKeys.has(m.key)) {
          // Held back behind its key's failed message (by the relay's waves or
          // by a publisher that stops a key at its first failure, which then
          // never sent it): not an attempt of its own.
          outcomes.set(m.id, { kind: 'unattempted' })
        } else {
          outcomes.set(m.id, { kind: 'failed', error: r.error, permanent: r.permanent === true, transport: r.transport === true })
          if (m.key !== null) failedKeys.add(m.key)
        }
      })
    }
  } finally {
    clearTimeout(timer)
  }
  return outcomes
}

async function callPublisher(publisher: Publisher, messages: OutboxMessage[], signal: AbortSignal): Promise<readonly PublishResult[]> {
  let results: readonly PublishResult[]
  try {
    results = await tracePublish(publisher, messages, signal, () => publisher.publish(messages, { signal }))
  } catch (error) {
    // A publish that rejects confirmed nothing: the broker was not reached.
    const err = error instanceof Error ? error : new Error(String(error))
    return messages.map(() => ({ ok: false as const, error: err, transport: true }))
  }
  if (!Array.isArray(results) || results.length !== messages.length) {
    const err = new Error(
      `the publisher returned ${Array.isArray(results) ? results.length : typeof results} results for ${messages.length} messages; a Publisher must return one result per message`,
    )
    return messages.map(() => ({ ok: false as const, error: err }))
  }
  return results
}
