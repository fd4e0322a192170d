import { HandlerTimeoutError } from '@txbox/core/adapter'

/**
 * A {@link consumeRabbitmq} handler (with its `wrap`) did not settle within
 * `handlerTimeoutMs` (code `RABBITMQ_HANDLER_TIMEOUT`). The handler's `signal`
 * aborts with this error; the delivery counts as failed (requeued, or rejected to the dead letters on its last attempt).
 * Fields as every adapter's: `messageId`, `timeoutMs`.
 */
export class RabbitmqHandlerTimeoutError extends HandlerTimeoutError {
  constructor(messageId: string, timeoutMs: number) {
    super('RABBITMQ_HANDLER_TIMEOUT', messageId, timeoutMs)
  }
}
