import type { OutboxMessage } from '@txbox/core'
import { hasMethods, integer, type OptionDeclaration, shape, textOrCallback } from '@txbox/core/adapter'
import type { RedisPublisherClient, RedisStreamsPublisherOptions } from './redis-config.js'

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
