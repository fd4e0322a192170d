import { TxboxError } from '../errors/txbox-error.js'

/**
 * What every adapter's handler-timeout error is (`RedisHandlerTimeoutError`,
 * `RabbitmqHandlerTimeoutError`, `NatsHandlerTimeoutError`): a consumer's
 * handler (with its `wrap`) did not settle within `handlerTimeoutMs`. The
 * handler's `signal` aborts with it and the delivery counts as failed. One
 * shape for all, so that code handling it does not depend on the broker.
 */
export abstract class HandlerTimeoutError extends TxboxError {
  /** The outbox message id of the delivery that timed out. */
  readonly messageId: string
  /** The `handlerTimeoutMs` it outlived. */
  readonly timeoutMs: number

  constructor(code: string, messageId: string, timeoutMs: number) {
    super(
      code,
      `the handler did not settle within ${timeoutMs} ms (handlerTimeoutMs) for message ${messageId}; the delivery counts as failed. Raise handlerTimeoutMs if the work needs longer, or stop it when the handler's signal aborts.`,
    )
    this.messageId = messageId
    this.timeoutMs = timeoutMs
  }
}
