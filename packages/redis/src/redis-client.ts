// We type only the subset of ioredis we use, so that ioredis stays a peer
// dependency the user brings (any ioredis 5 `Redis` instance fits).

/** The commands txbox sends, as ioredis' `call(command, ...args)`. */
export interface RedisCommandClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>
}

/**
 * What {@link redisStreamsPublisher} needs from an ioredis client: a `Redis`
 * or a `Cluster` fits.
 */
export interface RedisPublisherClient extends RedisCommandClient {
  /** `true` on an ioredis `Cluster`: a batch is then sent as one script call per hash slot. */
  readonly isCluster?: boolean
  /** The client's options; its `keyPrefix`, which ioredis puts before every key, takes part in a key's hash slot. */
  readonly options?: { readonly keyPrefix?: string | undefined }
}

/** A connection of its own for blocking reads, made by `duplicate()`. */
export interface RedisBlockingClient extends RedisCommandClient {
  /** Like `call`, with the reply's strings as Buffers (entries are checked to be UTF-8 text, not decoded lossily). */
  callBuffer(command: string, ...args: (string | Buffer | number)[]): Promise<unknown>
  /** `'error'` (a failed connection; without a listener ioredis prints "Unhandled error event") and `'ready'` (connected again). */
  on(event: string, listener: (...args: any[]) => void): unknown
  quit(): Promise<unknown>
  disconnect(): void
}

/** What {@link consumeRedisStream} needs from an ioredis client. */
export interface RedisConsumerClient extends RedisCommandClient {
  /** Like `call`, with the reply's strings as Buffers. */
  callBuffer(command: string, ...args: (string | Buffer | number)[]): Promise<unknown>
  duplicate(): RedisBlockingClient
}
