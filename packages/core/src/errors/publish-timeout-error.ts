import { TxboxError } from './txbox-error.js'

/** The publisher did not answer for a batch within `publishTimeout`; the batch is retried. */
export class PublishTimeoutError extends TxboxError {
  constructor(timeoutMs: number) {
    super(
      'PUBLISH_TIMEOUT',
      `the publisher did not confirm the batch within ${timeoutMs} ms; its messages stay in the outbox and are retried. Check the broker, or raise publishTimeout.`,
    )
  }
}
