import { TxboxError } from '@txbox/core'

/**
 * A message the BullMQ publisher could not add as a job (code `BULLMQ_ADD`):
 * the `queue`, `jobName` or `jobOptions` function threw or returned something
 * BullMQ refuses, Redis refused the add (a queue key holding another type, out
 * of memory, read-only replica), the connection was lost, or the publish was
 * aborted. Reported in the message's PublishResult, never thrown; the message
 * stays in the outbox and is retried. `cause` keeps the underlying error.
 */
export class BullmqAddError extends TxboxError {
  readonly messageId: string
  /** The queue the job was for (`undefined` if choosing it failed). */
  readonly queue: string | undefined

  constructor(messageId: string, queue: string | undefined, reason: string, options?: { cause?: unknown }) {
    super(
      'BULLMQ_ADD',
      `message ${messageId} was not added to ${queue === undefined ? 'BullMQ' : `BullMQ queue "${queue}"`}: ${reason}.`,
      options,
    )
    this.messageId = messageId
    this.queue = queue
  }
}
