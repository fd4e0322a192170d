/**
 * Redis did not confirm one message's XADD: the key holds another type
 * (WRONGTYPE), Redis is out of memory, the connection was lost, or the publish
 * was aborted. The message stays in the outbox and the relay retries it;
 * `cause` keeps Redis' own error.
 */
export class RedisStreamWriteError extends Error {
  /** Stable, for branching without parsing messages. */
  readonly code = 'REDIS_STREAM_WRITE' as const
  /** The stream the message was for (`undefined` if choosing it failed). */
  readonly stream: string | undefined
  readonly messageId: string

  constructor(messageId: string, stream: string | undefined, reason: string, options?: { cause?: unknown }) {
    super(`message ${messageId} was not written to ${stream === undefined ? 'Redis' : `stream "${stream}"`}: ${reason}. It stays in the outbox and is retried.`, options)
    this.name = 'RedisStreamWriteError'
    this.messageId = messageId
    this.stream = stream
  }
}
