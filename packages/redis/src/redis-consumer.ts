import { ConsumerLoop } from '@txbox/core/adapter'
import { BatchHandler } from './batch-handler.js'
import { BlockingConnection } from './blocking-connection.js'
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './redis-options.js'
import { RedisConsumerStartError } from './errors/redis-consumer-start-error.js'
import { parseRead, type RawEntry, type ReadEntry, toReadEntries } from './read-entries.js'
import { redisAddress } from './redis-address.js'
import type { ConsumeRedisStreamOptions } from './redis-config.js'
import { takeUnreadLoss } from './unread-loss.js'

/** How much longer than `handlerTimeoutMs` stop() waits for the consumer loop (a Redis call that never returns) before it gives up on it. */
const STOP_GRACE_MS = 2000

/** A running consumer, as returned by {@link consumeRedisStream}. */
export interface RedisStreamConsumer {
  /**
   * Stops gracefully: no new reads, the handler in flight finishes (and its
   * entry is acknowledged), then the consumer's own connection is closed.
   * Entries read but not yet handled stay pending: this consumer name resumes
   * them at its next start, another consumer claims them after `claimIdleMs`.
   *
   * Bounded: a handler that does not settle within `handlerTimeoutMs` is left
   * running and its delivery counts as failed (its entry stays pending, or
   * goes to the dead letters on its last delivery); if Redis stops answering,
   * stop() gives up on it `handlerTimeoutMs` + 2 s after it was called.
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
 * only after its handler resolved; a handler that throws, or outlives
 * `handlerTimeoutMs`, leaves it pending, and it is delivered again after
 * `claimIdleMs`, to this consumer or another (XAUTOCLAIM), which is also how
 * entries of a consumer that died are recovered. Before handling an entry the
 * consumer checks that it still owns it, and while it works through what it
 * read it keeps those entries from being claimed. After `maxDeliveries`
 * deliveries without success the entry is copied to the dead-letter stream
 * and acknowledged. Entries deleted from the stream before they were handled
 * (trimming) are reported at `error` level. Delivery is at least once: drop
 * duplicates by `messageId` (see `wrap`).
 *
 * Resolves once the group exists; rejects with a `RedisConsumerStartError`
 * naming the Redis address if it cannot be created (Redis unreachable, the
 * stream key holding another type).
 */
export async function consumeRedisStream<T = unknown>(options: ConsumeRedisStreamOptions<T>): Promise<RedisStreamConsumer> {
  const o = resolveConsumerOptions(options)
  try {
    await createGroup(o)
  } catch (error) {
    throw new RedisConsumerStartError(o.stream, o.group, redisAddress(o.redis), { cause: error })
  }
  const consumer = new StreamConsumer(o)
  // Entries lost while no consumer ran (the usual case) are reported before the first read.
  await consumer.reportUnreadLoss()
  return consumer.start()
}

/** Creates the group at `startId`; `false` if it exists already (another consumer, or an earlier run, made it). */
async function createGroup<T>(o: ResolvedConsumerOptions<T>): Promise<boolean> {
  try {
    await o.redis.call('XGROUP', 'CREATE', o.stream, o.group, o.startId, 'MKSTREAM')
    return true
  } catch (error) {
    if (!String((error as Error)?.message).startsWith('BUSYGROUP')) throw error
    return false
  }
}

class StreamConsumer<T> extends ConsumerLoop implements RedisStreamConsumer {
  private readonly o: ResolvedConsumerOptions<T>
  private readonly address: string
  private readonly reader: BlockingConnection
  /** Where the next XAUTOCLAIM scan resumes; `0-0` restarts it from the beginning of the pending list. */
  private claimCursor = '0-0'
  private nextClaimAt = 0
  /** Until the first read of its own pending list is done, the consumer resumes entries an earlier run of it left. */
  private historyFrom: string | undefined = '0'
  private lossCheckFailing = false
  private readonly batches: BatchHandler<T>

  constructor(options: ResolvedConsumerOptions<T>) {
    super(options.logger, 'txbox redis consumer')
    this.o = options
    this.address = redisAddress(options.redis)
    this.reader = new BlockingConnection(options.redis, (error) =>
      this.log('error', { err: error, ...this.where() }, 'its own connection to Redis failed; ioredis reconnects it'),
    )
    this.batches = new BatchHandler(options, {
      log: (level, fields, message) => this.log(level, { ...this.where(), ...fields }, message),
      stopping: () => this.stopping,
      reportVanished: (ids) => this.reportVanished(ids),
      reportLateHandler: (settled, fields) => this.reportLateHandler(settled, fields),
    })
  }

  protected stopBoundMs(): number {
    return this.o.handlerTimeoutMs + STOP_GRACE_MS
  }

  protected gaveUpMessage(): string {
    return 'stop() gave up waiting for a Redis command that does not return; entries in hand stay pending'
  }

  /** A blocking XREADGROUP would hold stop() for up to blockMs. */
  protected override interrupt(): Promise<void> {
    return this.reader.unblock()
  }

  protected override release(): Promise<void> {
    return this.reader.close()
  }

  protected async recover(error: unknown): Promise<void> {
    if (String((error as Error)?.message).includes('NOGROUP')) {
      // The group (or the whole stream) was deleted under us: make it again.
      await this.recreateGroup().catch((err) => this.log('error', { err, ...this.where() }, 'creating the missing consumer group failed; retrying'))
    } else {
      this.log('error', { err: error, ...this.where() }, 'reading the stream failed; retrying')
    }
  }

  /** One read (own pending entries at start, then claims when due, else new entries) and the handling of what it returned. */
  protected async step(): Promise<void> {
    const o = this.o
    if (this.historyFrom !== undefined) {
      const entries = parseRead(await o.redis.callBuffer('XREADGROUP', 'GROUP', o.group, o.consumer, 'COUNT', o.count, 'STREAMS', o.stream, this.historyFrom))
      if (entries.length === 0) {
        this.historyFrom = undefined
        return
      }
      this.historyFrom = (entries[entries.length - 1] as ReadEntry).id
      await this.batches.handle(entries)
      return
    }
    if (Date.now() >= this.nextClaimAt) {
      const [cursor, claimed, deleted] = (await o.redis.callBuffer('XAUTOCLAIM', o.stream, o.group, o.consumer, o.claimIdleMs, this.claimCursor, 'COUNT', o.count)) as [
        Buffer,
        RawEntry[],
        Buffer[]?,
      ]
      this.claimCursor = cursor.toString()
      // Redis 7 takes pending entries deleted from the stream off the pending list itself, and lists them here.
      if (deleted && deleted.length > 0) this.reportVanished(deleted.map(String))
      if (this.claimCursor === '0-0') {
        // Check again soon enough that an entry waits at most ~1.5 × claimIdleMs.
        this.nextClaimAt = Date.now() + Math.max(10, Math.min(o.claimIdleMs / 2, 5000))
        await this.reportUnreadLoss()
      }
      const entries = toReadEntries(claimed)
      if (entries.length > 0) {
        await this.batches.handle(entries)
        return
      }
    }
    if (this.stopping) return
    const reply = await this.reader.read(['XREADGROUP', 'GROUP', o.group, o.consumer, 'COUNT', o.count, 'BLOCK', o.blockMs, 'STREAMS', o.stream, '>'])
    await this.batches.handle(parseRead(reply))
  }

  /** Pending entries whose stream entry is gone: found by XAUTOCLAIM or by the read of the consumer's own pending list. */
  private reportVanished(ids: readonly string[]): void {
    this.log(
      'error',
      { ...this.where(), count: ids.length, ids },
      'pending entries were deleted from the stream before being handled (trimmed by maxLen, XTRIM or XDEL); they are lost to this group',
    )
  }

  /** Reports entries trimmed before the group read them (see unread-loss.ts). Never throws: the check must not stop the consumer. */
  async reportUnreadLoss(): Promise<void> {
    try {
      const loss = await takeUnreadLoss(this.o.redis, this.o.stream, this.o.group)
      this.lossCheckFailing = false
      if (loss === undefined) return
      this.log(
        'error',
        { ...this.where(), count: loss.count, afterId: loss.afterId, beforeId: loss.beforeId },
        "entries were trimmed from the stream before the group read them (maxLen or XTRIM shorter than the consumers' downtime); they are lost to this group",
      )
    } catch (error) {
      // Once per run of failures (Redis down, an ACL without XINFO or XGROUP SETID).
      if (this.lossCheckFailing) return
      this.lossCheckFailing = true
      this.log('warn', { err: error, ...this.where() }, 'checking the stream for entries trimmed unread failed')
    }
  }

  private async recreateGroup(): Promise<void> {
    if (!(await createGroup(this.o))) return
    this.claimCursor = '0-0'
    const entries = this.o.startId === '0' ? Number(await this.o.redis.call('XLEN', this.o.stream)) : this.o.startId === '$' ? 0 : undefined
    this.log(
      'warn',
      { ...this.where(), startId: this.o.startId, entries },
      'the consumer group was missing (destroyed, or its stream deleted) and was created again at startId; the entries after startId are delivered to it, again for those handled before (drop duplicates with processOnce)',
    )
  }

  protected where(): Record<string, unknown> {
    return { stream: this.o.stream, group: this.o.group, consumer: this.o.consumer, redis: this.address }
  }
}
