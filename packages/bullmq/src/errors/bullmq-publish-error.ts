import { BrokerPublishError } from '@txbox/core/adapter'

/**
 * Why a message was not added as a BullMQ job:
 * - `refused`: Redis refused the add (a queue key holding another type, a script error, ...). Spends an attempt;
 * - `unavailable`: Redis was not reached, or cannot take writes now (connection lost, OOM, READONLY, ...);
 * - `aborted`: the relay stopped waiting (its publish timeout) before Redis confirmed the add;
 * - `closed`: the publisher was closed;
 * - `unconfirmed`: BullMQ answered with another job id than the message id. Spends an attempt;
 * - `job-options`: the `queue`, `jobName` or `jobOptions` function threw, or returned what BullMQ refuses. Spends an attempt;
 * - `unpublishable`: BullMQ can never take the message as it is (its payload is not JSON text, or its id cannot be a job id: {@link BullmqJobIdError}). It was never sent.
 *
 * `unpublishable` is permanent: the relay moves the message to the dead
 * letters at once. `unavailable`, `aborted` and `closed` are transport
 * failures: they spend no attempt. The others spend an attempt.
 */
export type BullmqPublishFailure = 'refused' | 'unavailable' | 'aborted' | 'closed' | 'unconfirmed' | 'job-options' | 'unpublishable'

/**
 * A message the BullMQ publisher could not add as a job (code
 * `BULLMQ_PUBLISH`). Reported in the message's PublishResult, never thrown;
 * `cause` keeps the underlying error. Fields as every adapter's publish
 * error: `reason`, `messageId`; and `queue`.
 */
export class BullmqPublishError extends BrokerPublishError<BullmqPublishFailure> {
  declare readonly messageId: string
  /** The queue the job was for (`undefined` if choosing it failed). */
  readonly queue: string | undefined

  constructor(reason: BullmqPublishFailure, messageId: string, queue: string | undefined, detail: string, options?: { cause?: unknown; code?: string }) {
    super(
      options?.code ?? 'BULLMQ_PUBLISH',
      reason,
      messageId,
      `message ${messageId} was not added to ${queue === undefined ? 'BullMQ' : `BullMQ queue "${queue}"`}: ${detail}.`,
      options,
    )
    this.queue = queue
  }
}

/** @deprecated The former name of {@link BullmqPublishError} (the same class). */
export const BullmqAddError = BullmqPublishError
/** @deprecated The former name of {@link BullmqPublishError}. */
export type BullmqAddError = BullmqPublishError
