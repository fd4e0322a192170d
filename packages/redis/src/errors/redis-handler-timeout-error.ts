import { HandlerTimeoutError } from '@txbox/core/adapter'

/**
 * A {@link consumeRedisStream} handler (with its `wrap`) did not settle within
 * `handlerTimeoutMs` (code `REDIS_HANDLER_TIMEOUT`). The handler's `signal`
 * aborts with this error; the delivery counts as failed (the entry stays pending, or goes to the dead-letter stream, whose `error` field carries this message, on its last delivery).
 * Fields as every adapter's: `messageId`, `timeoutMs`.
 */
export class RedisHandlerTimeoutError extends HandlerTimeoutError {
  constructor(messageId: string, timeoutMs: number) {
    super('REDIS_HANDLER_TIMEOUT', messageId, timeoutMs)
  }
}
