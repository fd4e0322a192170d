import { callHandler, ConsumerLoop, processedBefore, settledWithin, timedOut } from '@txbox/core/adapter'
import { BlockingConnection } from './blocking-connection.js'
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './consumer-options.js'
import { handBackUnstarted, type Ownership, refreshOwnership } from './entry-ownership.js'
import { RedisConsumerStartError } from './errors/redis-consumer-start-error.js'
import { RedisHandlerTimeoutError } from './errors/redis-handler-timeout-error.js'
import { redisAddress } from './redis-address.js'
import type { ConsumeRedisStreamOptions } from './redis-config.js'
import { decodeEntry } from './stream-entry.js'
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

/** An entry as read: `fields` is `null` when it was deleted from the stream while pending. */
interface ReadEntry {
  readonly id: string
  readonly fields: Buffer[] | null
}

/** An entry of the batch in hand, with what the ownership checks learnt about it. */
interface BatchEntry {
  readonly id: string
  readonly fields: Buffer[]
  /** From the group's pending list; a new entry is in its first delivery. */
  deliveries: number
  /** Handled (or given up on): no longer kept from being claimed. */
  settled: boolean
  /** Deleted from the stream after it was read: only the copy read is left. */
  deleted: boolean
  /** Another consumer's now, or acknowledged by one (then `null`). */
  takenBy: string | null | undefined
}

type RawEntry = [id: Buffer, fields: Buffer[] | null] | null

class StreamConsumer<T> extends ConsumerLoop implements RedisStreamConsumer {
  private readonly o: ResolvedConsumerOptions<T>
  private readonly address: string
  private readonly reader: BlockingConnection
  /** Where the next XAUTOCLAIM scan resumes; `0-0` restarts it from the beginning of the pending list. */
  private claimCursor = '0-0'
  private nextClaimAt = 0
  /** Until the first read of its own pending list is done, the consumer resumes entries an earlier run of it left. */
  private historyFrom: string | undefined = '0'
  /** Ownership checks run one at a time, so that what one learnt is known when the next one's answer is read. */
  private ownershipQueue: Promise<unknown> = Promise.resolve()
  private lossCheckFailing = false

  constructor(options: ResolvedConsumerOptions<T>) {
    super(options.logger, 'txbox redis consumer')
    this.o = options
    this.address = redisAddress(options.redis)
    this.reader = new BlockingConnection(options.redis, (error) =>
      this.log('error', { err: error, ...this.where() }, 'its own connection to Redis failed; ioredis reconnects it'),
    )
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
      await this.handleBatch(entries)
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
        await this.handleBatch(entries)
        return
      }
    }
    if (this.stopping) return
    const reply = await this.reader.read(['XREADGROUP', 'GROUP', o.group, o.consumer, 'COUNT', o.count, 'BLOCK', o.blockMs, 'STREAMS', o.stream, '>'])
    await this.handleBatch(parseRead(reply))
  }

  /**
   * Handles a batch one entry at a time. Meanwhile a timer resets the idle
   * time of the entries not yet settled every claimIdleMs / 3, so that the
   * wait of the last ones (count × handler time) does not let another
   * consumer claim them: see entry-ownership.ts.
   */
  private async handleBatch(entries: readonly ReadEntry[]): Promise<void> {
    const vanished = entries.filter((e) => e.fields === null).map((e) => e.id)
    if (vanished.length > 0) {
      this.reportVanished(vanished)
      // Reported; now off the pending list, where nothing is left to hand over.
      await this.ack(...vanished)
    }
    const batch: BatchEntry[] = entries
      .filter((e): e is ReadEntry & { fields: Buffer[] } => e.fields !== null)
      .map((e) => ({ id: e.id, fields: e.fields, deliveries: 1, settled: false, deleted: false, takenBy: undefined }))
    if (batch.length === 0) return
    let refreshing = false
    const heartbeat = setInterval(
      () => {
        if (refreshing) return
        refreshing = true
        void this.keepOwnership(batch).finally(() => (refreshing = false))
      },
      Math.max(1, Math.floor(this.o.claimIdleMs / 3)),
    )
    try {
      for (const [index, entry] of batch.entries()) {
        // Entries not started stay pending, their delivery not counted; see stop().
        if (this.stopping) return await this.handBack(batch.slice(index))
        await this.handleOne(entry)
        entry.settled = true
      }
    } finally {
      clearInterval(heartbeat)
    }
  }

  private async handleOne(entry: BatchEntry): Promise<void> {
    const o = this.o
    const [own] = await this.checkOwnership([entry])
    if (entry.takenBy !== undefined || (own?.status === 'settled' && !entry.deleted)) {
      this.log(
        'warn',
        { ...this.where(), streamId: entry.id, owner: entry.takenBy ?? null },
        'an entry it read was claimed by another consumer (or acknowledged) before its turn; it is left to that consumer (was this one stalled longer than claimIdleMs?)',
      )
      return
    }
    const deliveries = entry.deliveries
    if (entry.deleted) {
      this.log(
        'warn',
        { ...this.where(), streamId: entry.id, deliveries },
        'an entry was deleted from the stream (trimmed) after it was read; it is handled from the copy read, and goes to the dead letters if that fails',
      )
    }
    const decoded = decodeEntry<T>(o.stream, entry.id, entry.fields, deliveries)
    if (!decoded.ok) {
      await this.deadLetter(entry, `malformed entry: ${decoded.reason}`)
      return
    }
    const message = decoded.message
    if (deliveries > o.maxDeliveries) {
      // Delivered again and again without an answer: its handler crashes the
      // process, or it succeeded and its XACK was lost (processOnce knows).
      const check = await processedBefore({
        message,
        wrap: o.wrap,
        timeoutMs: o.handlerTimeoutMs,
        timeoutError: () => new RedisHandlerTimeoutError(entry.id, o.handlerTimeoutMs),
      })
      if (check.processed) {
        this.log('warn', { ...this.where(), streamId: entry.id, messageId: message.messageId, deliveries }, 'an entry delivered more than maxDeliveries times was found processed by wrap (its XACK was lost); acknowledged')
        await this.ack(entry.id)
        return
      }
      const failedCheck = check.error === undefined ? '' : `; wrap could not tell whether it was processed: ${(check.error as Error)?.message ?? String(check.error)}`
      await this.deadLetter(entry, `delivered ${deliveries} times without being acknowledged (maxDeliveries ${o.maxDeliveries})${failedCheck}`)
      return
    }
    const outcome = await callHandler({
      message,
      handler: o.handler,
      wrap: o.wrap,
      timeoutMs: o.handlerTimeoutMs,
      timeoutError: () => new RedisHandlerTimeoutError(entry.id, o.handlerTimeoutMs),
    })
    if (outcome.ok) {
      await this.ack(entry.id)
      return
    }
    const late = timedOut(outcome)
    if (late) this.reportLateHandler(outcome.settled, { streamId: entry.id, messageId: message.messageId })
    const reason = (outcome.error as Error)?.message ?? String(outcome.error)
    if (entry.deleted) {
      await this.deadLetter(entry, `${reason} (the entry was deleted from the stream, so it cannot be retried)`)
    } else if (deliveries >= o.maxDeliveries) {
      await this.deadLetter(entry, reason)
    } else if (late) {
      this.log(
        'warn',
        { err: outcome.error, ...this.where(), streamId: entry.id, messageId: message.messageId, deliveries, timeoutMs: o.handlerTimeoutMs },
        'handler did not settle within handlerTimeoutMs; the entry stays pending and is retried after claimIdleMs (the handler is left running)',
      )
    } else {
      this.log(
        'warn',
        { err: outcome.error, ...this.where(), streamId: entry.id, messageId: message.messageId, deliveries },
        'handler failed; the entry stays pending and is retried after claimIdleMs',
      )
    }
  }

  /** Gives back entries read and not started, uncounted (entry-ownership.ts); bounded, since stop() waits for it. */
  private async handBack(entries: readonly BatchEntry[]): Promise<void> {
    const ids = entries.filter((e) => e.takenBy === undefined).map((e) => e.id)
    const handing = handBackUnstarted(this.o, ids).then(
      (vanished) => vanished.length > 0 && this.reportVanished(vanished),
      (err) => this.log('warn', { err, ...this.where(), streamIds: ids }, 'handing back the entries read and not started failed; each counts one delivery'),
    )
    await settledWithin(handing, 1000)
  }

  /** Checks and refreshes ownership of `entries` (one at a time, see ownershipQueue) and notes what was found on each. */
  private checkOwnership(entries: readonly BatchEntry[]): Promise<Ownership[]> {
    const found = this.ownershipQueue.then(async () => {
      const owned = await refreshOwnership(this.o, entries.map((e) => e.id))
      owned.forEach((own, i) => {
        const entry = entries[i] as BatchEntry
        if (own.status === 'own' || own.status === 'deleted') entry.deliveries = own.deliveries
        if (own.status === 'deleted') entry.deleted = true
        if (own.status === 'claimed') entry.takenBy = own.owner
        // Not pending, and not because our own check took a deleted entry off the list: acknowledged elsewhere.
        if (own.status === 'settled' && !entry.deleted) entry.takenBy = null
      })
      return owned
    })
    this.ownershipQueue = found.catch(() => {})
    return found
  }

  /** The heartbeat of a batch: keeps the entries not yet settled from being claimed. */
  private async keepOwnership(batch: readonly BatchEntry[]): Promise<void> {
    const open = batch.filter((e) => !e.settled && e.takenBy === undefined)
    if (open.length === 0) return
    try {
      await this.checkOwnership(open)
    } catch (error) {
      // The loop's own commands fail as well and are logged; a missed refresh at worst lets an entry be claimed, which the check before its handling catches.
      this.log('debug', { err: error, ...this.where() }, 'refreshing the entries in hand failed')
    }
  }

  private async ack(...ids: string[]): Promise<void> {
    try {
      await this.o.redis.call('XACK', this.o.stream, this.o.group, ...ids)
    } catch (error) {
      // Unacknowledged means delivered again later: at least once, never lost.
      this.log('error', { err: error, ...this.where(), streamIds: ids }, 'XACK failed; the entry will be delivered again')
    }
  }

  /** Copies the entry (its original bytes) to the dead-letter stream, then acknowledges it (in that order, so a crash between them duplicates rather than loses it). */
  private async deadLetter(entry: BatchEntry, error: string): Promise<void> {
    const o = this.o
    const { id, deliveries } = entry
    try {
      await o.redis.callBuffer(
        'XADD',
        o.deadLetterStream,
        '*',
        ...entry.fields,
        'sourceStream',
        o.stream,
        'sourceId',
        id,
        'group',
        o.group,
        'consumer',
        o.consumer,
        'deliveries',
        deliveries,
        'error',
        error,
      )
    } catch (err) {
      this.log('error', { err, ...this.where(), streamId: id, deadLetterStream: o.deadLetterStream }, 'writing a dead letter failed; the entry stays pending')
      return
    }
    this.log('warn', { ...this.where(), streamId: id, deliveries, error, deadLetterStream: o.deadLetterStream }, 'entry moved to the dead-letter stream')
    await this.ack(id)
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

/** The entries of an XREADGROUP reply (one stream), ids as text. */
function parseRead(reply: unknown): ReadEntry[] {
  if (reply === null) return []
  const streams = reply as [stream: Buffer, entries: RawEntry[]][]
  return toReadEntries(streams[0]?.[1] ?? [])
}

function toReadEntries(raw: readonly RawEntry[]): ReadEntry[] {
  // A null element (Redis 6.2's XAUTOCLAIM for a deleted entry) carries no id to report or acknowledge.
  return raw.filter((e): e is NonNullable<RawEntry> => e !== null).map(([id, fields]) => ({ id: id.toString(), fields }))
}
