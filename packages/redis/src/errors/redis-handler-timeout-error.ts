import { TxboxError } from '@txbox/core'

/**
 * A {@link consumeRedisStream} handler (with its `wrap`) did not settle within
 * `handlerTimeoutMs`. The handler's `signal` aborts with this error; the
 * delivery counts as failed, and the dead letter's `error` field carries this
 * message when it was the last delivery.
 */
export class RedisHandlerTimeoutError extends TxboxError {
  readonly streamId: string
  readonly timeoutMs: number

  constructor(streamId: string, timeoutMs: number) {
    super(
      'REDIS_HANDLER_TIMEOUT',
      `the handler did not settle within ${timeoutMs} ms (handlerTimeoutMs) for entry ${streamId}; the delivery counts as failed. Raise handlerTimeoutMs if the work needs longer, or stop it when the handler's signal aborts.`,
    )
    this.streamId = streamId
    this.timeoutMs = timeoutMs
  }
}
