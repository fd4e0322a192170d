import type { Logger } from '@txbox/core'
import { redactUrl } from '@txbox/core/adapter'
import type { Redis } from 'ioredis'
import { RedisConnectError } from './errors/redis-connect-error.js'

const CONNECT_TIMEOUT_MS = 10_000

/** An ioredis client opened by {@link connectRedis}, and how to release it. */
export interface RedisConnection {
  readonly redis: Redis
  /** The URL without its password, for logs. */
  readonly description: string
  /** QUIT, or a plain disconnect if Redis does not answer it. */
  close(): Promise<void>
  /** Drops the connection at once. */
  destroy(): void
}

/**
 * Opens an ioredis client to `url` the way `txbox relay` does, for a
 * publisher (this package's, or @txbox/bullmq's): it fails at once with a
 * {@link RedisConnectError} saying what to check when Redis cannot be reached
 * or refuses the URL's login; it does not resend commands left unanswered by
 * a lost connection (the relay counts that batch as failed and publishes it
 * again itself: a resend would be one more duplicate per lost connection);
 * and it logs one warning per outage, not one per reconnect attempt.
 */
export async function connectRedis(url: string, options: { readonly logger: Logger; readonly connectionName?: string }): Promise<RedisConnection> {
  const description = redactUrl(url)
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: options.connectionName ?? 'txbox-relay',
    autoResendUnfulfilledCommands: false,
  })
  let connected = false
  let lastError: Error | undefined
  redis.on('error', (error: Error) => {
    lastError = error
    if (!connected) return
    connected = false
    options.logger.warn({ err: error, broker: description }, 'lost the connection to Redis; reconnecting')
  })
  redis.on('ready', () => {
    connected = true
  })
  try {
    // Resolves once Redis accepted the URL's password (AUTH) and database (SELECT).
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    // connect() rejects with "Connection is closed."; the error ioredis emitted says why.
    throw startError(lastError ?? error, description)
  }
  return {
    redis,
    description,
    async close() {
      await redis.quit().catch(() => redis.disconnect())
    },
    destroy() {
      redis.disconnect()
    },
  }
}

/** What went wrong at start, in Redis' own words, and what to check. */
function startError(reason: unknown, description: string): RedisConnectError {
  const text = reason instanceof Error ? reason.message : String(reason)
  if (/^WRONGPASS\b/.test(text)) {
    return new RedisConnectError(description, `Redis at ${description} refused the login (${text}): check the user name and password in the URL.`, { cause: reason })
  }
  if (/^NOAUTH\b/.test(text)) {
    // Said in words: a URL with a password in it would be masked in the output.
    return new RedisConnectError(
      description,
      `Redis at ${description} wants a password (${text}): put it in the URL, after a colon before the @ (the user name before the colon may be empty).`,
      { cause: reason },
    )
  }
  return new RedisConnectError(description, `cannot reach the broker at ${description}: ${text}`, { cause: reason })
}
