import { NOT_SENT, type PublishResults } from './publish-batch.js'
import type { TakenMessage } from './taken-message.js'
import type { RetryDelay } from './backoff.js'

/**
 * What becomes of one taken message: decided once (by {@link settle}), then
 * written back, counted and reported from this alone.
 */
export type Fate =
  /** The broker confirmed it: it stays deleted. */
  | { readonly kind: 'published'; readonly taken: TakenMessage }
  /** It failed: back to the outbox with one more attempt, due again in `retryInMs`. */
  | { readonly kind: 'retry'; readonly taken: TakenMessage; readonly attempts: number; readonly error: Error; readonly retryInMs: number }
  /** It failed permanently or ran out of attempts: to the dead letters. */
  | { readonly kind: 'dead'; readonly taken: TakenMessage; readonly attempts: number; readonly error: Error }
  /**
   * Not sent, behind its key's head that will be retried (blocking mode):
   * back to the outbox held back (see hold-back-keys.ts) until that head is
   * published or dead.
   */
  | { readonly kind: 'held-back'; readonly taken: TakenMessage }
  /** Not sent (behind a failure of its key, or after the timeout): back to the outbox as it was. */
  | { readonly kind: 'unsent'; readonly taken: TakenMessage }
  /**
   * The broker was not reached (a transport failure): back to the outbox as
   * it was, without an attempt, with the error as its last.
   */
  | { readonly kind: 'unreached'; readonly taken: TakenMessage; readonly error: Error }

export interface SettlePolicy {
  readonly blockKeyOnFailure: boolean
  readonly maxAttempts: number
  readonly retryDelay: RetryDelay
}

/**
 * Settles each message of a batch once, from what the broker said, walking
 * the batch in id order. This is the one place that counts an attempt and
 * the one place that decides a message is held back behind its key.
 */
export function settle(batch: readonly TakenMessage[], results: PublishResults, policy: SettlePolicy): Fate[] {
  const retriedKeys = new Set<string>()
  return batch.map((taken, i): Fate => {
    const result = results[i]
    const { key, attempts } = taken.message
    if (result === NOT_SENT) {
      // A failed row keeps its own state (its key is blocked by the head);
      // a never-tried one waits out of the take's way.
      const behindRetriedHead = policy.blockKeyOnFailure && attempts === 0 && key !== null && retriedKeys.has(key)
      return behindRetriedHead ? { kind: 'held-back', taken } : { kind: 'unsent', taken }
    }
    if (result.ok) return { kind: 'published', taken }
    if (result.transport === true) return { kind: 'unreached', taken, error: result.error }
    const attempt = attempts + 1
    if (result.permanent === true || attempt >= policy.maxAttempts) return { kind: 'dead', taken, attempts: attempt, error: result.error }
    if (key !== null) retriedKeys.add(key)
    return { kind: 'retry', taken, attempts: attempt, error: result.error, retryInMs: Math.max(0, policy.retryDelay(attempt)) }
  })
}

/**
 * Keys whose failed rows may all be gone after this batch: a failed row that
 * was published, or a message that failed (it may have gone dead). Their
 * held-back rows are released if no failed row of theirs is left (the
 * database checks, see hold-back-keys.ts).
 */
export function keysToRelease(fates: readonly Fate[]): string[] {
  const keys = new Set<string>()
  for (const fate of fates) {
    const { key, attempts } = fate.taken.message
    if (key === null) continue
    if ((fate.kind === 'published' && attempts > 0) || fate.kind === 'retry' || fate.kind === 'dead' || fate.kind === 'unreached') keys.add(key)
  }
  return [...keys]
}
