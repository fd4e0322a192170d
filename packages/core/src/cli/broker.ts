import type { Logger } from '../logger.js'
import type { Publisher } from '../publisher.js'
import { rabbitmqStartError, redisStartError } from './broker-login.js'
import { CliError } from './cli-error.js'
import { importFromProject } from './import-from-project.js'
import { redactUrl } from './redact.js'

/** Broker options of `txbox relay`. */
export interface BrokerFlags {
  exchange?: string
  stream?: string
  maxLen?: number
}

/** A publisher the CLI built from a broker URL, and how to release what it opened. */
export interface BrokerConnection {
  readonly publisher: Publisher
  /** The URL without its password, for logs. */
  readonly description: string
  /** Closes politely (QUIT, channel and connection close): waits for the broker's answer. */
  close(): Promise<void>
  /** Drops the connection at once, for a broker that does not answer `close()`. */
  destroy(): void
}

const CONNECT_TIMEOUT_MS = 10_000

/**
 * Builds the publisher for `url`: `redis://`/`rediss://` → @txbox/redis (with
 * an ioredis client), `amqp://`/`amqps://` → @txbox/rabbitmq. Both packages
 * come from the user's project. The broker must answer now and accept the
 * URL's login (user, password, RabbitMQ vhost): an unreachable broker, or
 * one that refuses the login, is a CliError at start naming what to check,
 * not a relay that starts and then fails every publish.
 */
export async function openBroker(url: string, flags: BrokerFlags, logger: Logger): Promise<BrokerConnection> {
  const description = redactUrl(url)
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    throw new CliError(`the broker URL ${description} is not a URL; expected redis://host:6379 or amqp://user:password@host:5672.`, 'usage')
  }
  if (protocol === 'redis:' || protocol === 'rediss:') return openRedis(url, description, flags, logger)
  if (protocol === 'amqp:' || protocol === 'amqps:') return openRabbitmq(url, description, flags)
  throw new CliError(`unsupported broker URL ${description}: use redis://, rediss://, amqp:// or amqps://.`, 'usage')
}

async function openRedis(url: string, description: string, flags: BrokerFlags, logger: Logger): Promise<BrokerConnection> {
  if (flags.exchange !== undefined) throw new CliError('--exchange is for RabbitMQ; with Redis, use --stream.', 'usage')
  const adapter = await importFromProject('@txbox/redis', 'a redis:// broker URL', 'npm install @txbox/redis ioredis@5')
  const ioredis = await importFromProject('ioredis', 'a redis:// broker URL', 'npm install @txbox/redis ioredis@5')
  const Redis = ioredis.Redis ?? ioredis.default?.Redis ?? ioredis.default
  // autoResendUnfulfilledCommands off: after a reconnect ioredis would run a
  // batch script again that the relay has already counted as failed and will
  // publish again itself (one more duplicate per lost connection).
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, connectionName: 'txbox-relay', autoResendUnfulfilledCommands: false })
  // ioredis reports every failed reconnect; one warning per outage is enough
  // (the relay logs each batch that fails and retries it).
  let connected = false
  let lastError: Error | undefined
  redis.on('error', (error: Error) => {
    lastError = error
    if (!connected) return
    connected = false
    logger.warn({ err: error, broker: description }, 'lost the connection to Redis; reconnecting')
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
    throw redisStartError(lastError ?? error, description)
  }
  const options: Record<string, unknown> = { redis }
  if (flags.stream !== undefined) options.stream = flags.stream
  if (flags.maxLen !== undefined) options.maxLen = flags.maxLen
  const publisher: Publisher = adapter.redisStreamsPublisher(options)
  return {
    publisher,
    description,
    async close() {
      await publisher.close?.()
      // The adapter never quits a client it was given; this one is ours.
      await redis.quit().catch(() => redis.disconnect())
    },
    destroy() {
      redis.disconnect()
    },
  }
}

async function openRabbitmq(url: string, description: string, flags: BrokerFlags): Promise<BrokerConnection> {
  if (flags.stream !== undefined || flags.maxLen !== undefined) throw new CliError('--stream and --max-len are for Redis; with RabbitMQ, use --exchange.', 'usage')
  if (flags.exchange === undefined) {
    throw new CliError('an amqp:// broker needs --exchange <name>: the exchange every message is published to (routing key = topic).', 'usage')
  }
  const adapter = await importFromProject('@txbox/rabbitmq', 'an amqp:// broker URL', 'npm install @txbox/rabbitmq amqplib')
  const amqplib = await importFromProject('amqplib', 'an amqp:// broker URL', 'npm install @txbox/rabbitmq amqplib')
  await checkRabbitmqLogin(amqplib.connect ?? amqplib.default?.connect, url, description)
  const publisher: Publisher = adapter.rabbitmqPublisher({ url, exchange: flags.exchange })
  return {
    publisher,
    description,
    async close() {
      await publisher.close?.()
    },
    destroy() {
      // The publisher's connection is its own; exiting the process drops it.
    },
  }
}

/**
 * Opens an AMQP connection to `url` and closes it again: resolves once
 * RabbitMQ accepted the user, the password and the vhost, the way the
 * publisher will connect. A port that answers is not enough: RabbitMQ refuses
 * a wrong login or vhost only in the handshake, and the relay would otherwise
 * log "relaying" and then fail every publish. A CliError otherwise.
 */
async function checkRabbitmqLogin(connect: (url: string, options: object) => Promise<{ close(): Promise<void> }>, url: string, description: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const connecting = connect(url, { timeout: CONNECT_TIMEOUT_MS })
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)), CONNECT_TIMEOUT_MS)
  })
  try {
    const connection = await Promise.race([connecting, timedOut])
    await connection.close().catch(() => {})
  } catch (error) {
    // A handshake that completes after the timeout: close what it opened.
    connecting.then((late) => late.close()).catch(() => {})
    throw rabbitmqStartError(error, new URL(url), description)
  } finally {
    clearTimeout(timer)
  }
}
