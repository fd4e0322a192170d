import { BrokerPublishError } from '@txbox/core/adapter'

/**
 * Why Redis did not take a message:
 * - `refused`: Redis answered the XADD with an error (WRONGTYPE: the key holds another type, a script error, ...). Spends an attempt;
 * - `unavailable`: Redis was not reached, or cannot take writes now (connection lost, OOM, BUSY, LOADING, READONLY, a cluster without its master);
 * - `aborted`: the relay stopped waiting (its publish timeout) before Redis confirmed it;
 * - `unconfirmed`: Redis answered with something other than an entry id. Spends an attempt;
 * - `held-back`: not sent, because an earlier message of its key failed in this batch (per-key order);
 * - `stream-function`: the `stream` function threw or did not return a stream name. Spends an attempt.
 *
 * `unavailable` and `aborted` are transport failures: they spend no attempt,
 * and the relay backs off until Redis answers again. Every failure leaves the
 * message in the outbox, to be retried.
 */
export type RedisPublishFailure = 'refused' | 'unavailable' | 'aborted' | 'unconfirmed' | 'held-back' | 'stream-function'

/**
 * A message the Redis Streams publisher could not get written (code
 * `REDIS_PUBLISH`). Reported in its PublishResult, never thrown; `cause`
 * keeps Redis' own error when there is one. Fields as every adapter's
 * publish error: `reason`, `messageId`; and `stream`.
 */
export class RedisPublishError extends BrokerPublishError<RedisPublishFailure> {
  declare readonly messageId: string
  /** The stream the message was for (`undefined` if choosing it failed). */
  readonly stream: string | undefined

  constructor(reason: RedisPublishFailure, messageId: string, stream: string | undefined, detail: string, options?: { cause?: unknown }) {
    super(
      'REDIS_PUBLISH',
      reason,
      messageId,
      `message ${messageId} was not written to ${stream === undefined ? 'Redis' : `stream "${stream}"`}: ${detail}. It stays in the outbox and is retried.`,
      options,
    )
    this.stream = stream
  }
}

/** @deprecated The former name of {@link RedisPublishError} (the same class). */
export const RedisStreamWriteError = RedisPublishError
/** @deprecated The former name of {@link RedisPublishError}. */
export type RedisStreamWriteError = RedisPublishError
