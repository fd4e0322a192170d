import type { Logger, OutboxMessage } from '@txbox/core'
import type { HandlerContext } from '@txbox/core/adapter'
import type { RedisHandlerTimeoutError } from './errors/redis-handler-timeout-error.js'
import type { RedisConsumerClient, RedisPublisherClient } from './redis-client.js'
import type { RedisStreamMessage } from './redis-message.js'

/** Options of {@link redisStreamsPublisher}. */
export interface RedisStreamsPublisherOptions {
  /**
   * Your ioredis client: a `Redis`, or a `Cluster` for a Redis Cluster. You
   * own it: the publisher never quits it, not even in `close()`. Quit it
   * yourself after stopping the relay.
   */
  redis: RedisPublisherClient
  /**
   * The stream each message is appended to: a fixed name, or a function of the
   * message. Default: the message's topic.
   */
  stream?: string | ((message: OutboxMessage) => string)
  /** Trims each stream to about this many entries (`XADD … MAXLEN ~ n`). Default: no trimming. */
  maxLen?: number
}

/** What a handler gets besides the message: its `signal` aborts (with a {@link RedisHandlerTimeoutError}) when it outlived `handlerTimeoutMs`. */
export type RedisStreamHandlerContext = HandlerContext

/** Handles one message. Resolving acknowledges the entry; throwing (or outliving `handlerTimeoutMs`) leaves it pending for a retry. */
export type RedisStreamHandler<T = unknown> = (message: RedisStreamMessage<T>, context: RedisStreamHandlerContext) => Promise<void> | void

/** Options of {@link consumeRedisStream}. */
export interface ConsumeRedisStreamOptions<T = unknown> {
  /**
   * Your ioredis client. You own it: `stop()` never quits it. The consumer
   * reads on a connection of its own (`redis.duplicate()`), because a blocking
   * XREADGROUP holds its connection; that one is closed by `stop()`.
   */
  redis: RedisConsumerClient
  /** The stream to read. */
  stream: string
  /** The consumer group; created (with the stream, if missing) at start. */
  group: string
  /** This consumer's name within the group. Keep it stable across restarts (e.g. the host name) so a restart resumes its own pending entries at once. */
  consumer: string
  /** Called once per entry, one entry at a time, in stream order (except that a handler which outlived `handlerTimeoutMs` is left running while the next starts). */
  handler: RedisStreamHandler<T>
  /** Most entries read per XREADGROUP / XAUTOCLAIM. Default 10. */
  count?: number
  /** How long one XREADGROUP waits for new entries, in ms. Default 2000. */
  blockMs?: number
  /**
   * How long an entry stays pending without its consumer showing signs of
   * life (its handler failed, or its consumer died) before a consumer of the
   * group claims it again with XAUTOCLAIM, in ms. It is also the retry delay
   * after a failed handler. While a consumer works through what it read, it
   * resets the idle time of those entries every `claimIdleMs / 3`, so neither
   * a slow handler nor a long batch lets another consumer take them. Give
   * every consumer of a group the same value. Default 30000.
   */
  claimIdleMs?: number
  /**
   * How long one handler call (with `wrap`) may take, in ms. After that its
   * signal aborts, the delivery counts as failed (the entry stays pending, or
   * goes to the dead-letter stream on its `maxDeliveries`-th delivery) and the
   * consumer moves on; a handler that never settles is left behind. Also
   * bounds how long `stop()` waits for the handler in flight. Default: 30000,
   * or `claimIdleMs` if that is larger.
   */
  handlerTimeoutMs?: number
  /** Deliveries after which a failing entry goes to the dead-letter stream (and is acknowledged). Default 5. */
  maxDeliveries?: number
  /** Where entries that keep failing (or cannot be decoded) go. Default `${stream}:dead`. */
  deadLetterStream?: string
  /**
   * Where a group created by this call starts: `'0'` reads the entries already
   * in the stream, `'$'` only new ones. Default `'0'`. A group that disappears
   * while the consumer runs (XGROUP DESTROY, the stream deleted) is created
   * again at the same id, and the consumer logs a warning: with `'0'` the
   * entries the stream holds are delivered again (keep inbox records longer
   * than the stream keeps entries), with `'$'` entries written while the group
   * was missing are skipped.
   */
  startId?: string
  /**
   * Runs around each handler call, e.g. to skip duplicates with the inbox:
   * `wrap: (m, run) => processOnce(db, m.messageId, run)`. It must call `run`
   * (or decide not to, for a duplicate) and resolve once done; throwing counts
   * as a failed delivery. `handlerTimeoutMs` covers `wrap` and handler together.
   */
  wrap?: (message: RedisStreamMessage<T>, run: () => Promise<void>) => Promise<unknown>
  /**
   * Where the consumer logs failed handlers, dead letters and Redis errors
   * (levels `warn` and `error`; each message starts with `txbox redis
   * consumer:`). pino fits. Default: the console (`console.warn` /
   * `console.error`; nothing at debug or info). Pass a logger whose methods
   * do nothing to silence it.
   */
  logger?: Logger
}
