import { InvalidOptionError, type Logger } from '@txbox/core'
import { nonEmptyString, positiveInteger, rejectUnknownOptions } from './check-options.js'
import type { ConsumeRedisStreamOptions, RedisBlockingClient, RedisConsumerClient, RedisStreamHandler, RedisStreamMessage } from './redis-config.js'
import { decodeEntry } from './stream-entry.js'

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
  'maxDeliveries',
  'deadLetterStream',
  'startId',
  'wrap',
  'logger',
]

/**
 * The default logger: warnings and errors (a failed handler, a dead letter, a
 * Redis error) go to the console, so they are not missed; debug and info are
 * silent. Pass your own `logger` (pino fits) to route them elsewhere.
 */
const consoleLogger: Logger = {
  debug() {},
  info() {},
  // The messages already start with "txbox redis consumer:".
  warn: (fields, message) => console.warn(message, fields),
  error: (fields, message) => console.error(message, fields),
}

/** A running consumer, as returned by {@link consumeRedisStream}. */
export interface RedisStreamConsumer {
  /**
   * Stops gracefully: no new reads, the handler in flight finishes (and its
   * entry is acknowledged), then the consumer's own connection is closed.
   * Entries read but not yet handled stay pending: this consumer name resumes
   * them at its next start, another consumer claims them after `claimIdleMs`.
   * Idempotent. Never quits your `redis` client.
   */
  stop(): Promise<void>
}

/**
 * Reads a Redis stream as one consumer of a consumer group and calls
 * `handler` for each entry written by {@link redisStreamsPublisher}:
 *
 * ```ts
 * const worker = await consumeRedisStream({
 *   redis, stream: 'email.welcome', group: 'mailer', consumer: hostname(),
 *   handler: async (m) => sendWelcomeEmail(m.payload),
 * })
 * process.on('SIGTERM', () => worker.stop())
 * ```
 *
 * Creates the group (and the stream) if missing. An entry is acknowledged
 * only after its handler resolved; a handler that throws leaves it pending,
 * and it is delivered again after `claimIdleMs`, to this consumer or another
 * (XAUTOCLAIM), which is also how entries of a consumer that died are
 * recovered. After `maxDeliveries` deliveries without success the entry is
 * copied to the dead-letter stream and acknowledged. Delivery is at least
 * once: drop duplicates by `messageId` (see `wrap`).
 *
 * Resolves once the group exists; rejects if it cannot be created (Redis
 * unreachable, the stream key holding another type).
 */
export async function consumeRedisStream<T = unknown>(options: ConsumeRedisStreamOptions<T>): Promise<RedisStreamConsumer> {
  const resolved = resolveConsumerOptions(options)
  await createGroup(resolved)
  return new StreamConsumer(resolved).start()
}

interface ResolvedConsumerOptions<T> {
  readonly redis: RedisConsumerClient
  readonly stream: string
  readonly group: string
  readonly consumer: string
  readonly handler: RedisStreamHandler<T>
  readonly count: number
  readonly blockMs: number
  readonly claimIdleMs: number
  readonly maxDeliveries: number
  readonly deadLetterStream: string
  readonly startId: string
  readonly wrap: ((message: RedisStreamMessage<T>, run: () => Promise<void>) => Promise<unknown>) | undefined
  readonly logger: Logger
}

function resolveConsumerOptions<T>(options: ConsumeRedisStreamOptions<T>): ResolvedConsumerOptions<T> {
  rejectUnknownOptions(WHERE, options, OPTION_NAMES)
  const redis = options.redis
  if (!redis || typeof redis.call !== 'function' || typeof redis.duplicate !== 'function') {
    throw new InvalidOptionError('redis', `${WHERE}: redis must be an ioredis client (new Redis(url)).`)
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
  return {
    redis,
    stream,
    group: nonEmptyString(WHERE, 'group', options.group),
    consumer: nonEmptyString(WHERE, 'consumer', options.consumer),
    handler: options.handler,
    count: positiveInteger(WHERE, 'count', options.count, 10) as number,
    blockMs: positiveInteger(WHERE, 'blockMs', options.blockMs, 2000) as number,
    claimIdleMs: positiveInteger(WHERE, 'claimIdleMs', options.claimIdleMs, 30_000) as number,
    maxDeliveries: positiveInteger(WHERE, 'maxDeliveries', options.maxDeliveries, 5) as number,
    deadLetterStream,
    startId: options.startId === undefined ? '0' : nonEmptyString(WHERE, 'startId', options.startId),
    wrap: options.wrap,
    logger: options.logger ?? consoleLogger,
  }
}

async function createGroup<T>(o: ResolvedConsumerOptions<T>): Promise<void> {
  try {
    await o.redis.call('XGROUP', 'CREATE', o.stream, o.group, o.startId, 'MKSTREAM')
  } catch (error) {
    // The group exists already: another consumer (or an earlier run) made it.
    if (!String((error as Error)?.message).startsWith('BUSYGROUP')) throw error
  }
}

/** `[id, [field, value, ...] | null]`: null when the entry was deleted (trimmed) while pending. */
type RawEntry = [id: string, fields: string[] | null]

class StreamConsumer<T> implements RedisStreamConsumer {
  private readonly o: ResolvedConsumerOptions<T>
  private readonly blocking: RedisBlockingClient
  private blockingId: number | undefined
  private stopping = false
  private loop: Promise<void> | undefined
  private stopped: Promise<void> | undefined
  private reading = false
  private wake: (() => void) | undefined
  /** Where the next XAUTOCLAIM scan resumes; `0-0` restarts it from the beginning of the pending list. */
  private claimCursor = '0-0'
  private nextClaimAt = 0
  /** Until the first read of its own pending list is done, the consumer resumes entries an earlier run of it left. */
  private historyFrom: string | undefined = '0'

  constructor(options: ResolvedConsumerOptions<T>) {
    this.o = options
    this.blocking = options.redis.duplicate()
  }

  start(): this {
    this.loop = this.run()
    return this
  }

  stop(): Promise<void> {
    this.stopping = true
    this.wake?.()
    this.stopped ??= (async () => {
      const unblocking = this.unblockRead()
      await this.loop
      await unblocking
      await this.blocking.quit().catch(() => this.blocking.disconnect())
    })()
    return this.stopped
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.stopping) {
      try {
        await this.step()
        failures = 0
      } catch (error) {
        failures++
        this.log('error', { err: error, stream: this.o.stream, group: this.o.group }, 'txbox redis consumer: reading the stream failed; retrying')
        if (String((error as Error)?.message).startsWith('NOGROUP')) {
          // The stream or group was deleted under us: make them again.
          await createGroup(this.o).catch(() => {})
        }
        await this.sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5000))
      }
    }
  }

  /** One read (own pending entries at start, then claims when due, else new entries) and the handling of what it returned. */
  private async step(): Promise<void> {
    const o = this.o
    if (this.historyFrom !== undefined) {
      const entries = this.parseRead(await o.redis.call('XREADGROUP', 'GROUP', o.group, o.consumer, 'COUNT', o.count, 'STREAMS', o.stream, this.historyFrom))
      if (entries.length === 0) {
        this.historyFrom = undefined
        return
      }
      this.historyFrom = (entries[entries.length - 1] as RawEntry)[0]
      await this.handleAll(entries, await this.deliveryCounts(entries))
      return
    }
    if (Date.now() >= this.nextClaimAt) {
      const reply = (await o.redis.call('XAUTOCLAIM', o.stream, o.group, o.consumer, o.claimIdleMs, this.claimCursor, 'COUNT', o.count)) as [
        string,
        (RawEntry | null)[],
        string[]?,
      ]
      this.claimCursor = reply[0]
      // Check again soon enough that an entry waits at most ~1.5 × claimIdleMs.
      if (this.claimCursor === '0-0') this.nextClaimAt = Date.now() + Math.max(10, Math.min(o.claimIdleMs / 2, 5000))
      const entries = reply[1].filter((e): e is RawEntry => e !== null)
      if (entries.length > 0) {
        await this.handleAll(entries, await this.deliveryCounts(entries))
        return
      }
    }
    // Known before the first blocking read, so that stop() can unblock it.
    this.blockingId ??= (await this.blocking.call('CLIENT', 'ID')) as number
    this.reading = true
    let reply: unknown
    try {
      if (this.stopping) return
      reply = await this.blocking.call('XREADGROUP', 'GROUP', o.group, o.consumer, 'COUNT', o.count, 'BLOCK', o.blockMs, 'STREAMS', o.stream, '>')
    } finally {
      this.reading = false
    }
    const entries = this.parseRead(reply)
    // A new entry is in its first delivery: no need to ask XPENDING.
    await this.handleAll(
      entries,
      entries.map(() => 1),
    )
  }

  private parseRead(reply: unknown): RawEntry[] {
    if (reply === null) return []
    const streams = reply as [stream: string, entries: RawEntry[]][]
    return streams[0]?.[1] ?? []
  }

  /** Each entry's delivery counter, from the group's pending list (one pipelined round trip). */
  private async deliveryCounts(entries: readonly RawEntry[]): Promise<number[]> {
    const o = this.o
    const replies = await Promise.all(entries.map(([id]) => o.redis.call('XPENDING', o.stream, o.group, id, id, 1) as Promise<[string, string, number, number][]>))
    return replies.map((r) => r[0]?.[3] ?? 1)
  }

  private async handleAll(entries: readonly RawEntry[], deliveries: readonly number[]): Promise<void> {
    for (let i = 0; i < entries.length; i++) {
      // Entries not started stay pending; see stop().
      if (this.stopping) return
      const [id, fields] = entries[i] as RawEntry
      await this.handleOne(id, fields, deliveries[i] ?? 1)
    }
  }

  private async handleOne(id: string, fields: string[] | null, deliveries: number): Promise<void> {
    const o = this.o
    if (fields === null) {
      // Deleted (trimmed) while pending: nothing left to hand over.
      await this.ack(id)
      return
    }
    const decoded = decodeEntry<T>(o.stream, id, fields, deliveries)
    if (!decoded.ok) {
      await this.deadLetter(id, fields, deliveries, `malformed entry: ${decoded.reason}`)
      return
    }
    if (deliveries > o.maxDeliveries) {
      // Delivered again and again without an answer: its handler crashes the process, or outlives claimIdleMs.
      await this.deadLetter(id, fields, deliveries, `delivered ${deliveries} times without being acknowledged (maxDeliveries ${o.maxDeliveries})`)
      return
    }
    const message = decoded.message
    const run = async () => {
      await o.handler(message)
    }
    try {
      await (o.wrap ? o.wrap(message, run) : run())
    } catch (error) {
      if (deliveries >= o.maxDeliveries) {
        await this.deadLetter(id, fields, deliveries, (error as Error)?.message ?? String(error))
      } else {
        this.log('warn', { err: error, stream: o.stream, streamId: id, messageId: message.messageId, deliveries }, 'txbox redis consumer: handler failed; the entry stays pending and is retried after claimIdleMs')
      }
      return
    }
    await this.ack(id)
  }

  private async ack(id: string): Promise<void> {
    try {
      await this.o.redis.call('XACK', this.o.stream, this.o.group, id)
    } catch (error) {
      // Unacknowledged means delivered again later: at least once, never lost.
      this.log('error', { err: error, stream: this.o.stream, streamId: id }, 'txbox redis consumer: XACK failed; the entry will be delivered again')
    }
  }

  /** Copies the entry to the dead-letter stream, then acknowledges it (in that order, so a crash between them duplicates rather than loses it). */
  private async deadLetter(id: string, fields: readonly string[], deliveries: number, error: string): Promise<void> {
    const o = this.o
    try {
      await o.redis.call('XADD', o.deadLetterStream, '*', ...fields, 'sourceStream', o.stream, 'sourceId', id, 'group', o.group, 'consumer', o.consumer, 'deliveries', deliveries, 'error', error)
    } catch (err) {
      this.log('error', { err, stream: o.stream, streamId: id, deadLetterStream: o.deadLetterStream }, 'txbox redis consumer: writing a dead letter failed; the entry stays pending')
      return
    }
    this.log('warn', { stream: o.stream, streamId: id, deliveries, error, deadLetterStream: o.deadLetterStream }, 'txbox redis consumer: entry moved to the dead-letter stream')
    await this.ack(id)
  }

  /**
   * Ends a blocking read early with CLIENT UNBLOCK (the read returns as if it
   * timed out, so no entry is lost in flight). The unblock may reach Redis
   * before the read does, hence the retries; if it is refused (ACL), the read
   * ends by itself within blockMs.
   */
  private async unblockRead(): Promise<void> {
    const deadline = Date.now() + this.o.blockMs + 1000
    while (this.reading && Date.now() < deadline) {
      if (this.blockingId !== undefined) await this.o.redis.call('CLIENT', 'UNBLOCK', this.blockingId).catch(() => {})
      if (!this.reading) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // A read that did not end by itself (a dead connection): drop the connection.
    if (this.reading) this.blocking.disconnect()
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }

  private log(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    this.o.logger[level](fields, message)
  }
}
