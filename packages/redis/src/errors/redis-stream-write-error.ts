import { TxboxError } from '@txbox/core'

/**
 * Redis did not confirm one message's XADD: the key holds another type
 * (WRONGTYPE), Redis is out of memory, the connection was lost, or the publish
 * was aborted. The message stays in the outbox and the relay retries it;
 * `cause` keeps Redis' own error.
 */
export class RedisStreamWriteError extends TxboxError {
  /** The stream the message was for (`undefined` if choosing it failed). */
  readonly stream: string | undefined
  readonly messageId: string

  constructor(messageId: string, stream: string | undefined, reason: string, options?: { cause?: unknown }) {
    super(
      'REDIS_STREAM_WRITE',
      `message ${messageId} was not written to ${stream === undefined ? 'Redis' : `stream "${stream}"`}: ${reason}. It stays in the outbox and is retried.`,
      options,
    )
    this.messageId = messageId
    this.stream = stream
  }
}
