import { InvalidOptionError, type Logger, type OutboxMessage } from '@txbox/core'
import { CONSUMER_LOGGER_OPTION, callback, hasMethods, integer, MAX_TIMER_MS, type OptionDeclaration, resolveOptions, shape, text, textOrCallback, wrapOption } from '@txbox/core/adapter'
import type { RedisConsumerClient, RedisPublisherClient } from './redis-client.js'
import type { ConsumeRedisStreamOptions, RedisStreamHandler, RedisStreamsPublisherOptions } from './redis-config.js'
import type { RedisStreamMessage } from './redis-message.js'

const WHERE = 'consumeRedisStream'
const DEFAULT_HANDLER_TIMEOUT_MS = 30_000
const milliseconds = { min: 1, max: MAX_TIMER_MS, unit: 'ms', maxNote: 'about 24.8 days' } as const

/** The options of {@link redisStreamsPublisher}, declared once (checked by resolveOptions, shown in docs/api.md). */
export const PUBLISHER_OPTIONS = {
  redis: shape<RedisPublisherClient>()({
    type: 'ioredis Redis | Cluster',
    required: true,
    description: 'Your ioredis client (a Cluster for a Redis Cluster). Yours: the publisher never quits it.',
    expected: 'an ioredis client (new Redis(url), or new Cluster(nodes) for a Redis Cluster)',
    test: (value) => hasMethods(value, 'call'),
  }),
  stream: textOrCallback<(message: OutboxMessage) => string>()({
    signature: '(message) => string',
    defaultText: 'the topic',
    description: 'The stream each message is appended to: a fixed name, or a function of the message.',
  }),
  maxLen: integer({
    min: 1,
    defaultText: 'no trimming',
    description: 'Trims each stream to about this many entries (XADD … MAXLEN ~ n); it drops unread entries too.',
  }),
} as const satisfies Record<keyof RedisStreamsPublisherOptions, OptionDeclaration<any>>

/** The options of {@link consumeRedisStream}, declared once (checked by resolveOptions, shown in docs/api.md). */
export const CONSUMER_OPTIONS = {
  redis: shape<RedisConsumerClient>()({
    type: 'ioredis Redis',
    required: true,
    description: 'Your ioredis client (never quit by stop()); the consumer reads on a duplicate of its own.',
    expected: 'an ioredis 5 client (new Redis(url))',
    test: (value) => hasMethods(value, 'call', 'callBuffer', 'duplicate'),
  }),
  stream: text({ required: true, description: 'The stream to read.' }),
  group: text({ required: true, description: 'The consumer group; created (with the stream, if missing) at start.' }),
  consumer: text({ required: true, description: "This consumer's name within the group; keep it stable across restarts." }),
  handler: callback<RedisStreamHandler<any>>()({
    required: true,
    expected: 'a function (message) => Promise<void>',
    description: 'Called once per entry, one entry at a time, in stream order.',
  }),
  count: integer({ min: 1, default: 10, description: 'Most entries read per XREADGROUP / XAUTOCLAIM.' }),
  blockMs: integer({ min: 1, unit: 'ms', default: 2000, description: 'How long one XREADGROUP waits for new entries.' }),
  claimIdleMs: integer({ ...milliseconds, default: 30_000, description: 'How long an entry stays pending without signs of life before the group claims it again; also the retry delay.' }),
  handlerTimeoutMs: integer({
    ...milliseconds,
    defaultText: `${DEFAULT_HANDLER_TIMEOUT_MS} ms, or claimIdleMs if larger`,
    description: 'How long one handler call (with wrap) may take before its signal aborts and the delivery counts as failed.',
  }),
  maxDeliveries: integer({ min: 1, default: 5, description: 'Deliveries after which a failing entry goes to the dead-letter stream.' }),
  deadLetterStream: text({ defaultText: '<stream>:dead', description: 'Where entries that keep failing (or cannot be decoded) go.' }),
  startId: text({ default: '0', description: "Where a group created by this call starts: '0' reads the entries already there, '$' only new ones." }),
  wrap: wrapOption<RedisStreamMessage<any>>(),
  logger: CONSUMER_LOGGER_OPTION,
} as const satisfies Record<keyof ConsumeRedisStreamOptions, OptionDeclaration<any>>

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
  const resolved = resolveOptions(WHERE, CONSUMER_OPTIONS, options)
  const deadLetterStream = resolved.deadLetterStream ?? `${resolved.stream}:dead`
  if (deadLetterStream === resolved.stream) {
    throw new InvalidOptionError('deadLetterStream', `${WHERE}: deadLetterStream must differ from stream, or dead letters would be read again.`)
  }
  return {
    ...resolved,
    handler: resolved.handler as RedisStreamHandler<T>,
    wrap: resolved.wrap as ResolvedConsumerOptions<T>['wrap'],
    // Not below claimIdleMs: those who kept the old rule (claimIdleMs above the slowest handler) see no timeout fire.
    handlerTimeoutMs: resolved.handlerTimeoutMs ?? Math.max(DEFAULT_HANDLER_TIMEOUT_MS, resolved.claimIdleMs),
    deadLetterStream,
  }
}
