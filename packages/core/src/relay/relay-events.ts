import type { OutboxMessage } from '../publisher.js'

/** The relay's events and their payloads. */
export interface RelayEvents {
  /** A batch was confirmed by the broker and removed from the outbox. */
  published: (event: { readonly messages: readonly OutboxMessage[] }) => void
  /** A message was not confirmed and will be retried at `retryAt`. `error` is the publisher's own error. */
  failed: (event: { readonly message: OutboxMessage; readonly error: Error; readonly attempts: number; readonly retryAt: Date }) => void
  /** A message failed permanently or ran out of attempts and moved to the dead letters. */
  dead: (event: { readonly message: OutboxMessage; readonly error: Error; readonly attempts: number }) => void
  /**
   * Something went wrong around the messages (the database, the publisher
   * throwing, the wake-up connection). The relay backs off and carries on;
   * nothing is lost. Unlike a plain EventEmitter, no listener is required.
   */
  error: (error: Error, context: { readonly source: RelayErrorSource }) => void
  /**
   * The broker could not be reached (the publisher reported a transport
   * failure, rejected, or outlived `publishTimeout`). The batch's messages
   * went back to the outbox without spending an attempt (`messages` of
   * them); when nothing of the batch got through, the relay waits
   * `retryInMs` before its next claim (else 0). Emitted once per such batch.
   */
  unreachable: (event: { readonly error: Error; readonly messages: number; readonly retryInMs: number }) => void
  /**
   * A claim, publish and settle cycle committed (also one that claimed
   * nothing): how many messages it claimed and published, and how long the
   * claim statement and the broker took, in ms. Emitted after the cycle's
   * `published`, `failed` and `dead` events. For metrics and health checks.
   */
  cycle: (event: { readonly claimed: number; readonly published: number; readonly claimMs: number; readonly publishMs: number }) => void
  /** A claim found nothing to publish. */
  idle: () => void
}

/**
 * Where a relay `error` came from: `cycle` (a claim, publish or settle
 * failed: the database, mostly), `promotion` (making delayed messages due),
 * `wake-up` (the LISTEN connection).
 */
export type RelayErrorSource = 'cycle' | 'promotion' | 'wake-up'
