import { TxboxError } from '@txbox/core'

/**
 * A {@link consumeRabbitmq} handler (with its `wrap`) did not settle within
 * `handlerTimeoutMs`. The handler's `signal` aborts with this error; the
 * delivery counts as failed (requeued, or rejected to the dead letters on its
 * last attempt).
 */
export class RabbitmqHandlerTimeoutError extends TxboxError {
  readonly messageId: string
  readonly timeoutMs: number

  constructor(messageId: string, timeoutMs: number) {
    super(
      'RABBITMQ_HANDLER_TIMEOUT',
      `the handler did not settle within ${timeoutMs} ms (handlerTimeoutMs) for message ${messageId}; the delivery counts as failed. Raise handlerTimeoutMs if the work needs longer, or stop it when the handler's signal aborts.`,
    )
    this.messageId = messageId
    this.timeoutMs = timeoutMs
  }
}
