import { consoleLogger, InvalidOptionError, type Logger } from '@txbox/core'
import { nonEmptyString, positiveInteger, rejectUnknownOptions } from './check-options.js'
import type { ConsumeRedisStreamOptions, RedisConsumerClient, RedisStreamHandler, RedisStreamMessage } from './redis-config.js'

const WHERE = 'consumeRedisStream'
const OPTION_NAMES = [
  'redis',
  'stream',
  'group',
  'consumer',
  'handler',
  'count',
  'blockMs',
  'claimIdleMs',
  'handlerTimeoutMs',
  'maxDeliveries',
  'deadLetterStream',
  'startId',
  'wrap',
  'logger',
]
const DEFAULT_HANDLER_TIMEOUT_MS = 30_000
/** setTimeout's limit (about 24.8 days): a longer delay fires at once. */
const MAX_TIMER_MS = 2_147_483_647

/** The options of {@link consumeRedisStream}, checked once, defaults filled in. */
export interface ResolvedConsumerOptions<T> {
  readonly redis: RedisConsumerClient
  readonly stream: string
  readonly group: string
  readonly consumer: string
  readonly handler: RedisStreamHandler<T>
  readonly count: number
  readonly blockMs: number
  readonly claimIdleMs: number
  readonly handlerTimeoutMs: number
  readonly maxDeliveries: number
  readonly deadLetterStream: string
  readonly startId: string
  readonly wrap: ((message: RedisStreamMessage<T>, run: () => Promise<void>) => Promise<unknown>) | undefined
  readonly logger: Logger
}

export function resolveConsumerOptions<T>(options: ConsumeRedisStreamOptions<T>): ResolvedConsumerOptions<T> {
  rejectUnknownOptions(WHERE, options, OPTION_NAMES)
  const redis = options.redis
  if (!redis || typeof redis.call !== 'function' || typeof redis.callBuffer !== 'function' || typeof redis.duplicate !== 'function') {
    throw new InvalidOptionError('redis', `${WHERE}: redis must be an ioredis 5 client (new Redis(url)).`)
  }
  if (typeof options.handler !== 'function') {
    throw new InvalidOptionError('handler', `${WHERE}: handler must be a function (message) => Promise<void>.`)
  }
  if (options.wrap !== undefined && typeof options.wrap !== 'function') {
    throw new InvalidOptionError('wrap', `${WHERE}: wrap must be a function (message, run) => Promise<void>, e.g. (m, run) => processOnce(db, m.messageId, run).`)
  }
  const stream = nonEmptyString(WHERE, 'stream', options.stream)
  const deadLetterStream = options.deadLetterStream === undefined ? `${stream}:dead` : nonEmptyString(WHERE, 'deadLetterStream', options.deadLetterStream)
  if (deadLetterStream === stream) {
    throw new InvalidOptionError('deadLetterStream', `${WHERE}: deadLetterStream must differ from stream, or dead letters would be read again.`)
  }
  const claimIdleMs = milliseconds('claimIdleMs', options.claimIdleMs, 30_000)
  return {
    redis,
    stream,
    group: nonEmptyString(WHERE, 'group', options.group),
    consumer: nonEmptyString(WHERE, 'consumer', options.consumer),
    handler: options.handler,
    count: positiveInteger(WHERE, 'count', options.count, 10) as number,
    blockMs: positiveInteger(WHERE, 'blockMs', options.blockMs, 2000) as number,
    claimIdleMs,
    // Not below claimIdleMs: those who kept the old rule (claimIdleMs above the slowest handler) see no timeout fire.
    handlerTimeoutMs: milliseconds('handlerTimeoutMs', options.handlerTimeoutMs, Math.max(DEFAULT_HANDLER_TIMEOUT_MS, claimIdleMs)),
    maxDeliveries: positiveInteger(WHERE, 'maxDeliveries', options.maxDeliveries, 5) as number,
    deadLetterStream,
    startId: options.startId === undefined ? '0' : nonEmptyString(WHERE, 'startId', options.startId),
    wrap: options.wrap,
    // Warnings and errors (a lost entry, a Redis error) must not go unseen.
    logger: options.logger ?? consoleLogger,
  }
}

/** A positive integer of milliseconds that setTimeout can wait. */
function milliseconds(name: string, value: unknown, fallback: number): number {
  const ms = positiveInteger(WHERE, name, value, fallback) as number
  if (ms > MAX_TIMER_MS) {
    throw new InvalidOptionError(name, `${WHERE}: ${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${ms}.`)
  }
  return ms
}
