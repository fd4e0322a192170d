import { type BrokerConnection, type BrokerDescriptor, InvalidOptionError } from '@txbox/core'
import { brokerFlagsOf, redactUrl } from '@txbox/core/adapter'
import { connectRedis, type RedisConnection } from '@txbox/redis'
import type { BullmqPublisherOptions } from './bullmq-config.js'
import { bullmqPublisher } from './bullmq-publisher.js'
import { BullmqConnectError } from './errors/bullmq-connect-error.js'

/** `bullmq+redis:` → `redis:`, `bullmq+rediss:` → `rediss:` (TLS). */
const REDIS_SCHEME: Readonly<Record<string, string>> = { 'bullmq+redis:': 'redis:', 'bullmq+rediss:': 'rediss:' }

const FLAGS = {
  queue: 'the queue every job goes to (default: the message topic)',
  prefix: "BullMQ's key prefix, as your Workers use it (default: bull)",
}

/**
 * How tools (the `txbox` CLI) open a BullMQ publisher from a URL:
 * `bullmq+redis://[user:password@]host:6379[/db]`, or `bullmq+rediss://` for
 * TLS; the rest of the URL is ioredis' own (`?family=6`, ...). `open`
 * connects one ioredis client the way @txbox/redis does (`connectRedis`: an
 * unreachable Redis or a wrong password fails at once, here with a
 * {@link BullmqConnectError}), and adds every job through it.
 */
export const broker: BrokerDescriptor = {
  name: 'bullmq',
  schemes: Object.keys(REDIS_SCHEME),
  install: 'npm install @txbox/bullmq bullmq ioredis',
  flags: FLAGS,
  async open(url, { flags, logger }) {
    const redisUrl = toRedisUrl(url)
    const description = redactUrl(url)
    const options: Pick<BullmqPublisherOptions, 'queue' | 'prefix'> = brokerFlagsOf('BullMQ', FLAGS, flags)
    let connection: RedisConnection
    try {
      connection = await connectRedis(redisUrl, { logger })
    } catch (error) {
      const reason = (error as Error).cause ?? error
      throw new BullmqConnectError(description, reason instanceof Error ? reason.message : String(reason), { cause: reason })
    }
    let publisher: ReturnType<typeof bullmqPublisher>
    try {
      publisher = bullmqPublisher({ connection: connection.redis, logger, ...options })
    } catch (error) {
      // A flag the publisher refuses (an empty --queue): do not leave the client open.
      connection.destroy()
      throw error
    }
    const opened: BrokerConnection = {
      publisher,
      description,
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

function toRedisUrl(url: string): string {
  const colon = url.indexOf(':')
  const scheme = colon < 0 ? undefined : REDIS_SCHEME[url.slice(0, colon + 1).toLowerCase()]
  if (scheme === undefined || !url.slice(colon + 1).startsWith('//')) {
    throw new InvalidOptionError('url', `the BullMQ broker URL ${redactUrl(url)} must start with bullmq+redis:// (or bullmq+rediss:// for TLS), e.g. bullmq+redis://127.0.0.1:6379.`)
  }
  const redisUrl = scheme + url.slice(colon + 1)
  try {
    new URL(redisUrl)
  } catch {
    throw new InvalidOptionError('url', `the BullMQ broker URL ${redactUrl(url)} is not a URL; expected bullmq+redis://[user:password@]host:6379[/db].`)
  }
  return redisUrl
}
