import type { BrokerConnection, BrokerDescriptor } from '@txbox/core'
import { brokerFlagsOf } from '@txbox/core/adapter'
import { connectRedis } from './redis-connect.js'
import { redisStreamsPublisher } from './redis-publisher.js'
import type { RedisStreamsPublisherOptions } from './redis-config.js'

const FLAGS = {
  stream: 'one stream for every message (default: the message topic)',
  maxLen: 'trim each stream to about n entries (mind consumer downtime: see docs/adapters/redis.md)',
}

/**
 * How tools (the `txbox` CLI) open a Redis Streams publisher from a URL:
 * `redis://[user:password@]host:6379[/db]`, or `rediss://` for TLS. `open`
 * connects one ioredis client with {@link connectRedis} (failing at once, with
 * a `RedisConnectError` saying what to check, when Redis cannot be reached or
 * refuses the login) and publishes through it.
 */
export const broker: BrokerDescriptor = {
  name: 'redis',
  schemes: ['redis:', 'rediss:'],
  install: 'npm install @txbox/redis ioredis@5',
  flags: FLAGS,
  async open(url, { flags, logger }) {
    const options = publisherOptions(brokerFlagsOf('Redis', FLAGS, flags))
    const connection = await connectRedis(url, { logger })
    let publisher: ReturnType<typeof redisStreamsPublisher>
    try {
      publisher = redisStreamsPublisher({ redis: connection.redis, ...options })
    } catch (error) {
      // A flag the publisher refuses: do not leave the client open.
      connection.destroy()
      throw error
    }
    const opened: BrokerConnection = {
      publisher,
      description: connection.description,
      async close() {
        await publisher.close?.()
        // The publisher never quits a client it was given; this one is ours.
        await connection.close()
      },
      destroy: () => connection.destroy(),
    }
    return opened
  },
}

function publisherOptions(flags: Record<string, string>): Omit<RedisStreamsPublisherOptions, 'redis'> {
  const options: Omit<RedisStreamsPublisherOptions, 'redis'> = {}
  if (flags.stream !== undefined) options.stream = flags.stream
  // The publisher checks the number (a positive integer).
  if (flags.maxLen !== undefined) options.maxLen = /^\d+$/.test(flags.maxLen) ? Number(flags.maxLen) : (flags.maxLen as unknown as number)
  return options
}
