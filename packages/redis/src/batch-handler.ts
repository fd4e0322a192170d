import { callHandler, type HandlerOutcome, processedBefore, settledWithin, timedOut } from '@txbox/core/adapter'
import type { ResolvedConsumerOptions } from './redis-options.js'
import { handBackUnstarted, type Ownership, refreshOwnership } from './entry-ownership.js'
import { RedisHandlerTimeoutError } from './errors/redis-handler-timeout-error.js'
import type { ReadEntry } from './read-entries.js'
import { decodeEntry, type RedisStreamMessage } from './redis-message.js'

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

/** What the batch handler needs of the consumer it works for. */
export interface BatchContext {
  /** Logs with the consumer's fields (stream, group, consumer, Redis address). */
  log(level: 'debug' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void
  /** Whether stop() was called: entries not started are then handed back. */
  stopping(): boolean
  /** Reports pending entries whose stream entry is gone. */
  reportVanished(ids: readonly string[]): void
  /** Says when a handler that timed out settles after all. */
  reportLateHandler(settled: Promise<HandlerOutcome>, fields: Record<string, unknown>): void
}

/**
 * Handles what one read returned: each entry in turn, checking first that it
 * is still this consumer's, running the handler (through `wrap`), then
 * acknowledging it, leaving it pending for a retry, or dead-lettering it.
 * Meanwhile it keeps the entries not yet handled from being claimed.
 */
export class BatchHandler<T> {
  /** Ownership checks run one at a time, so that what one learnt is known when the next one's answer is read. */
  private ownershipQueue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly o: ResolvedConsumerOptions<T>,
    private readonly ctx: BatchContext,
  ) {}

  private log(level: 'debug' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    this.ctx.log(level, fields, message)
  }

  /**
   * Handles a batch one entry at a time. Meanwhile a timer resets the idle
   * time of the entries not yet settled every claimIdleMs / 3, so that the
   * wait of the last ones (count × handler time) does not let another
   * consumer claim them: see entry-ownership.ts.
   */
  async handle(entries: readonly ReadEntry[]): Promise<void> {
    const vanished = entries.filter((e) => e.fields === null).map((e) => e.id)
    if (vanished.length > 0) {
      this.ctx.reportVanished(vanished)
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
        if (this.ctx.stopping()) return await this.handBack(batch.slice(index))
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
        { streamId: entry.id, owner: entry.takenBy ?? null },
        'an entry it read was claimed by another consumer (or acknowledged) before its turn; it is left to that consumer (was this one stalled longer than claimIdleMs?)',
      )
      return
    }
    const deliveries = entry.deliveries
    if (entry.deleted) {
      this.log(
        'warn',
        { streamId: entry.id, deliveries },
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
      await this.settleExhausted(entry, message)
      return
    }
    const outcome = await callHandler({
      message,
      handler: o.handler,
      wrap: o.wrap,
      timeoutMs: o.handlerTimeoutMs,
      timeoutError: () => new RedisHandlerTimeoutError(message.messageId, o.handlerTimeoutMs),
      messaging: { system: 'redis', destination: o.stream, messageId: message.messageId, headers: message.headers },
    })
    if (outcome.ok) {
      await this.ack(entry.id)
      return
    }
    const late = timedOut(outcome)
    if (late) this.ctx.reportLateHandler(outcome.settled, { streamId: entry.id, messageId: message.messageId })
    const reason = (outcome.error as Error)?.message ?? String(outcome.error)
    if (entry.deleted) {
      await this.deadLetter(entry, `${reason} (the entry was deleted from the stream, so it cannot be retried)`)
    } else if (deliveries >= o.maxDeliveries) {
      await this.deadLetter(entry, reason)
    } else if (late) {
      this.log(
        'warn',
        { err: outcome.error, streamId: entry.id, messageId: message.messageId, deliveries, timeoutMs: o.handlerTimeoutMs },
        'handler did not settle within handlerTimeoutMs; the entry stays pending and is retried after claimIdleMs (the handler is left running)',
      )
    } else {
      this.log(
        'warn',
        { err: outcome.error, streamId: entry.id, messageId: message.messageId, deliveries },
        'handler failed; the entry stays pending and is retried after claimIdleMs',
      )
    }
  }

  /** An entry delivered more than maxDeliveries times: dead-lettered without a run, unless `wrap` (processOnce) has it processed already. */
  private async settleExhausted(entry: BatchEntry, message: RedisStreamMessage<T>): Promise<void> {
    const o = this.o
    const check = await processedBefore({
      message,
      wrap: o.wrap,
      timeoutMs: o.handlerTimeoutMs,
      timeoutError: () => new RedisHandlerTimeoutError(message.messageId, o.handlerTimeoutMs),
    })
    const { deliveries } = entry
    if (check.processed) {
      this.log(
        'warn',
        { streamId: entry.id, messageId: message.messageId, deliveries },
        'an entry delivered more than maxDeliveries times was found processed by wrap (its XACK was lost); acknowledged',
      )
      await this.ack(entry.id)
      return
    }
    const failedCheck = check.error === undefined ? '' : `; wrap could not tell whether it was processed: ${(check.error as Error)?.message ?? String(check.error)}`
    await this.deadLetter(entry, `delivered ${deliveries} times without being acknowledged (maxDeliveries ${o.maxDeliveries})${failedCheck}`)
  }

  /** Gives back entries read and not started, uncounted (entry-ownership.ts); bounded, since stop() waits for it. */
  private async handBack(entries: readonly BatchEntry[]): Promise<void> {
    const ids = entries.filter((e) => e.takenBy === undefined).map((e) => e.id)
    const handing = handBackUnstarted(this.o, ids).then(
      (vanished) => vanished.length > 0 && this.ctx.reportVanished(vanished),
      (err) => this.log('warn', { err, streamIds: ids }, 'handing back the entries read and not started failed; each counts one delivery'),
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
      this.log('debug', { err: error }, 'refreshing the entries in hand failed')
    }
  }

  private async ack(...ids: string[]): Promise<void> {
    try {
      await this.o.redis.call('XACK', this.o.stream, this.o.group, ...ids)
    } catch (error) {
      // Unacknowledged means delivered again later: at least once, never lost.
      this.log('error', { err: error, streamIds: ids }, 'XACK failed; the entry will be delivered again')
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
      this.log('error', { err, streamId: id, deadLetterStream: o.deadLetterStream }, 'writing a dead letter failed; the entry stays pending')
      return
    }
    this.log('warn', { streamId: id, deliveries, error, deadLetterStream: o.deadLetterStream }, 'entry moved to the dead-letter stream')
    await this.ack(id)
  }
}
