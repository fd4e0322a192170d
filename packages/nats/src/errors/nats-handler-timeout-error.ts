import { TxboxError } from '@txbox/core'

/**
 * A {@link consumeNats} handler (with its `wrap`) did not settle within
 * `handlerTimeoutMs`. The handler's `signal` aborts with this error; the
 * delivery counts as failed, and a dead letter's `txbox-dead-error` header
 * carries this message when it was the last delivery.
 */
export class NatsHandlerTimeoutError extends TxboxError {
  readonly messageId: string
  readonly timeoutMs: number

  constructor(messageId: string, timeoutMs: number) {
    super(
      'NATS_HANDLER_TIMEOUT',
      `the handler did not settle within ${timeoutMs} ms (handlerTimeoutMs) for message ${messageId}; the delivery counts as failed. Raise handlerTimeoutMs if the work needs longer, or stop it when the handler's signal aborts.`,
    )
    this.messageId = messageId
    this.timeoutMs = timeoutMs
  }
}
