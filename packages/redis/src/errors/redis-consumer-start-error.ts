import { TxboxError } from '@txbox/core'

/**
 * {@link consumeRedisStream} could not create or join its consumer group:
 * Redis is unreachable at the address the client was given (a wrong host or
 * port, Redis down), refused the command (ACL, authentication), or the stream
 * key holds another type. The message names the address; `cause` keeps the
 * ioredis or Redis error (often `MaxRetriesPerRequestError`, which names none).
 */
export class RedisConsumerStartError extends TxboxError {
  readonly stream: string
  readonly group: string
  /** Where the client connects, as `host:port` (or the socket path, the sentinels, the cluster nodes). */
  readonly address: string

  constructor(stream: string, group: string, address: string, options: { cause: unknown }) {
    const reason = (options.cause as Error)?.message ?? String(options.cause)
    super(
      'REDIS_CONSUMER_START',
      `consumeRedisStream: could not create or join consumer group "${group}" of stream "${stream}" on Redis at ${address} (${reason}). Check that Redis runs at that address and accepts this client, and that the key "${stream}" is a stream or free.`,
      options,
    )
    this.stream = stream
    this.group = group
    this.address = address
  }
}
