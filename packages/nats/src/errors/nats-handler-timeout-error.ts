import { HandlerTimeoutError } from '@txbox/core/adapter'

/**
 * A {@link consumeNats} handler (with its `wrap`) did not settle within
 * `handlerTimeoutMs` (code `NATS_HANDLER_TIMEOUT`). The handler's `signal`
 * aborts with this error; the delivery counts as failed (delivered again, or published to the dead-letter subject, whose `txbox-dead-error` header carries this message, on its last delivery).
 * Fields as every adapter's: `messageId`, `timeoutMs`.
 */
export class NatsHandlerTimeoutError extends HandlerTimeoutError {
  constructor(messageId: string, timeoutMs: number) {
    super('NATS_HANDLER_TIMEOUT', messageId, timeoutMs)
  }
}
