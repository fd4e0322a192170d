import { type BrokerConnection, type BrokerDescriptor, InvalidOptionError } from '@txbox/core'
import type { Redis as IORedis } from 'ioredis'
import type { BullmqPublisherOptions } from './bullmq-config.js'
import { bullmqPublisher } from './bullmq-publisher.js'
import { BullmqConnectError } from './errors/bullmq-connect-error.js'

const CONNECT_TIMEOUT_MS = 10_000

/** `bullmq+redis:` → `redis:`, `bullmq+rediss:` → `rediss:` (TLS). */
const REDIS_SCHEME: Readonly<Record<string, string>> = { 'bullmq+redis:': 'redis:', 'bullmq+rediss:': 'rediss:' }

const FLAGS = {
  queue: 'the queue every job goes to (default: the message topic)',
  prefix: "BullMQ's key prefix, as your Workers use it (default: bull)",
}

/**
 * How tools (the `txbox` CLI) open a BullMQ publisher from a URL:
 * `bullmq+redis://[user:password@]host:6379[/db]`, or `bullmq+rediss://` for
 * TLS; the rest of the URL is ioredis' own (`?family=6`, ...). `open` connects
 * one ioredis client, checks it with a PING (so an unreachable Redis or a
 * wrong password fails at once, with a {@link BullmqConnectError}), and adds
 * every job through it.
 */
export const broker: BrokerDescriptor = {
  name: 'bullmq',
  schemes: Object.keys(REDIS_SCHEME),
  install: 'npm install @txbox/bullmq bullmq ioredis',
  flags: FLAGS,
  async open(url, { flags, logger }) {
    const redisUrl = toRedisUrl(url)
    const description = withoutPassword(url)
    const options = publisherOptions(flags)
    const { Redis } = await import('ioredis')
    const redis: IORedis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, connectionName: 'txbox-relay' })
    let lastError: Error | undefined
    let connected = false
    redis.on('error', (error: Error) => {
      lastError = error
      // ioredis reports each failed reconnect: one warning per outage is enough.
      if (!connected) return
      connected = false
      logger.warn({ err: error, broker: description }, 'lost the connection to Redis; reconnecting')
    })
    redis.on('ready', () => {
      connected = true
    })
    try {
      await redis.connect()
      await redis.ping()
    } catch (error) {
      redis.disconnect()
      // connect() rejects with "Connection is closed."; the socket's or AUTH's own error says why.
      const reason = lastError ?? (error as Error)
      throw new BullmqConnectError(description, reason?.message ?? String(reason), { cause: reason })
    }
    let publisher: ReturnType<typeof bullmqPublisher>
    try {
      publisher = bullmqPublisher({ connection: redis, logger, ...options })
    } catch (error) {
      // A flag the publisher refuses (an empty --queue): do not leave the client open.
      redis.disconnect()
      throw error
    }
    const connection: BrokerConnection = {
      publisher,
      description,
      async close() {
        await publisher.close?.()
        // The publisher never quits a client it was given; this one is ours.
        await redis.quit().catch(() => redis.disconnect())
      },
      destroy() {
        redis.disconnect()
      },
    }
    return connection
  },
}

function toRedisUrl(url: string): string {
  const colon = url.indexOf(':')
  const scheme = colon < 0 ? undefined : REDIS_SCHEME[url.slice(0, colon + 1).toLowerCase()]
  if (scheme === undefined || !url.slice(colon + 1).startsWith('//')) {
    throw new InvalidOptionError('url', `the BullMQ broker URL ${withoutPassword(url)} must start with bullmq+redis:// (or bullmq+rediss:// for TLS), e.g. bullmq+redis://127.0.0.1:6379.`)
  }
  const redisUrl = scheme + url.slice(colon + 1)
  try {
    new URL(redisUrl)
  } catch {
    throw new InvalidOptionError('url', `the BullMQ broker URL ${withoutPassword(url)} is not a URL; expected bullmq+redis://[user:password@]host:6379[/db].`)
  }
  return redisUrl
}

function publisherOptions(flags: Readonly<Record<string, string | number | undefined>>): Pick<BullmqPublisherOptions, 'queue' | 'prefix'> {
  const options: Pick<BullmqPublisherOptions, 'queue' | 'prefix'> = {}
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue
    if (!(name in FLAGS)) {
      throw new InvalidOptionError(name, `--${name} is not an option of the BullMQ broker; it takes ${Object.keys(FLAGS).map((f) => `--${f}`).join(' and ')}.`)
    }
    options[name as keyof typeof FLAGS] = String(value)
  }
  return options
}

/** The URL with its password masked, for logs and errors. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password === '') return url
    parsed.password = '***'
    return parsed.toString()
  } catch {
    // Not a URL: mask everything between the scheme and the last '@'.
    const at = url.lastIndexOf('@')
    const start = url.indexOf('://')
    return at > start && start >= 0 ? `${url.slice(0, start + 3)}***${url.slice(at)}` : url
  }
}
