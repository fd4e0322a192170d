import { PublishTimeoutError } from '../errors/publish-timeout-error.js'
import type { OutboxMessage, Publisher, PublishResult } from '../publisher.js'
import { tracePublish } from '../tracing/send-span.js'
import { planWaves } from './plan-waves.js'

/**
 * What became of each message of a batch at the broker, at the message's
 * index: the publisher's own result, or NOT_SENT.
 */
export type PublishResults = (PublishResult | typeof NOT_SENT)[]

/**
 * The message never left: it was behind a message of its key that failed
 * earlier in this batch (per-key order), or the publish timeout came first.
 */
export const NOT_SENT = undefined

export interface PublishBatchOptions {
  /**
   * One call per wave (see planWaves), leaving out the keys that failed in an
   * earlier wave, instead of the whole batch in one call. The relay decides it
   * once (see relay-cycle.ts).
   */
  readonly waves: boolean
  /** Per-key order under failure (blockKeyOnFailure): nothing of a key counts as sent after the key failed. */
  readonly keyOrder: boolean
  readonly timeoutMs: number
}

/**
 * Publishes a batch (in id order) within `timeoutMs` and returns a result
 * per message. A failure reported for a message whose key already failed in
 * this batch is counted as NOT_SENT when the publisher stops a key at its
 * first failure (`stopsKeyOnFailure`: it never sent it) or the relay keeps
 * key order (waves: it was never given it in one call with its key's head).
 */
export async function publishBatch(publisher: Publisher, batch: readonly OutboxMessage[], options: PublishBatchOptions): Promise<PublishResults> {
  const results: PublishResults = new Array(batch.length).fill(NOT_SENT)
  const stopsKey = options.keyOrder || publisher.stopsKeyOnFailure === true
  const failedKeys = new Set<string>()
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new PublishTimeoutError(options.timeoutMs))
      resolve('timeout')
    }, options.timeoutMs)
  })
  try {
    for (const wave of options.waves ? wavesByIndex(batch) : [batch.map((_, i) => i)]) {
      // A key that failed in an earlier wave sends nothing more; after the timeout, nothing does.
      if (controller.signal.aborted) break
      const send = wave.filter((i) => !failedKeys.has((batch[i] as OutboxMessage).key as string))
      if (send.length === 0) continue
      const answered = await Promise.race([callPublisher(publisher, send.map((i) => batch[i] as OutboxMessage), controller.signal), timedOut])
      for (let n = 0; n < send.length; n++) {
        const i = send[n] as number
        const key = (batch[i] as OutboxMessage).key
        // A timed-out call failed as a whole (a transport failure). In key
        // order, a key's retries then follow one schedule, its first
        // unconfirmed message's: the later ones wait behind it unsent,
        // instead of each getting a retry time of its own (one could come
        // due, and be sent, before the key's head).
        const result: PublishResult =
          answered === 'timeout' ? { ok: false, error: controller.signal.reason as Error, transport: true } : (answered[n] as PublishResult)
        if (result.ok) results[i] = result
        else if (key !== null && failedKeys.has(key) && (answered === 'timeout' ? options.keyOrder : stopsKey)) results[i] = NOT_SENT
        else {
          results[i] = result
          if (key !== null) failedKeys.add(key)
        }
      }
    }
  } finally {
    clearTimeout(timer)
  }
  return results
}

/** planWaves, as indexes into the batch. */
function wavesByIndex(batch: readonly OutboxMessage[]): number[][] {
  const index = new Map(batch.map((m, i) => [m, i]))
  return planWaves(batch).map((wave) => wave.map((m) => index.get(m) as number))
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
