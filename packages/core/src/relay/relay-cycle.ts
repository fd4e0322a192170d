import type { Transaction } from 'kysely'
import { runSql } from '../sql/run-sql.js'
import { holdBackKeys } from '../sql/relay/hold-back-keys.js'
import { lanesHeld } from '../sql/relay/lanes-held.js'
import { putBackUnpublished } from '../sql/relay/put-back-unpublished.js'
import { deleteBatch as deleteBatchStatement } from '../sql/relay/delete-batch.js'
import { LANE_COUNT } from '../schema/migrations.js'
import { publishBatch } from './publish-batch.js'
import type { RelayEvents } from './relay-events.js'
import type { RelayCounters } from './relay-metrics.js'
import type { ResolvedRelayOptions } from './relay-options.js'
import { type Fate, keysToRelease, settle } from './settle.js'
import { compareIds, type TakenMessage, toTakenMessage } from './taken-message.js'

/** What one cycle did. */
export interface CycleResult {
  readonly taken: number
  readonly published: number
  /** The transport failure that sent messages of the batch back unattempted, if any. */
  readonly unreachable?: Error
}

/** How long the batch's DELETE and the broker took, in ms. */
interface CycleTiming {
  readonly claimMs: number
  readonly publishMs: number
}

/** Where a cycle reports what it did (the relay: its events and counters). */
export interface CycleReports {
  readonly counters: RelayCounters
  emit<E extends keyof RelayEvents>(event: E, ...args: Parameters<RelayEvents[E]>): void
}

/** A batch as delete-batch left it. */
interface TakenBatch {
  /** In id order. */
  readonly messages: TakenMessage[]
  /** Lanes (blocking mode) where the take passed over rows of blocked keys, and up to which id (null: the whole lane). */
  readonly passedOver: readonly { lane: number; upto: string | null }[]
}

/** Thrown inside the transaction to roll back a batch read from a stale snapshot (see delete-batch.ts). */
const STALE_BATCH = Symbol('stale batch')
const MAX_STALE_BATCHES = 10

/** What the relay's own transaction allows beyond publishTimeout before the server may end it. */
const TIMEOUT_MARGIN_MS = 30_000

/** The part of a message's error kept in the database. */
const MAX_ERROR_LENGTH = 2000

/**
 * One relay cycle, in one transaction, top to bottom:
 *
 * 1. delete a batch, returning it: the DELETE is final only at COMMIT;
 * 2. publish it to the broker;
 * 3. settle each message once: published, retry, dead, held back, or put
 *    back as it was (not sent, or the broker not reached);
 * 4. write back what was not published, and hold back or release keys;
 * 5. COMMIT: the published messages are gone for good;
 * 6. report (events, counters, logs): only now is what they say durable.
 *
 * If the process dies before COMMIT, the transaction rolls back and the batch
 * (and its lanes) are free for the next take: nothing is lost, and a message
 * may be published twice (at least once).
 *
 * The transaction is READ COMMITTED whatever the server's default: at
 * SERIALIZABLE or REPEATABLE READ its COMMIT could fail with a serialization
 * error after the broker took the batch (measured: 500 of 4,500 deliveries
 * were duplicates with a serializable default). It stays open, idle, while
 * the broker has the batch, for up to publishTimeout: the take sets the
 * session's idle and statement timeouts above that for the rest of it, or a
 * server-wide `idle_in_transaction_session_timeout` would kill it after the
 * broker took the batch (every message sent again, none ever settled).
 */
export class RelayCycle {
  /**
   * Whether a batch goes to the broker in waves of one message per key:
   * only to keep per-key order under failure (blocking mode) when the
   * publisher does not stop a key at its first failure itself.
   */
  private readonly waves: boolean
  /**
   * Most rows a take gets from one lane. In waves, a batch costs one round
   * trip per message of its busiest key, and a lane holds few keys; taking
   * less from each lane and more lanes spreads a batch over more keys and
   * cuts the waves.
   */
  private readonly perLane: number

  constructor(
    private readonly options: ResolvedRelayOptions,
    private readonly reports: CycleReports,
  ) {
    this.waves = options.blockKeyOnFailure && options.publisher.stopsKeyOnFailure !== true
    this.perLane = this.waves ? Math.max(1, Math.ceil(options.batchSize / 16)) : options.batchSize
  }

  /** Runs one cycle; a batch read from a stale snapshot is rolled back and taken again at once. */
  async run(): Promise<CycleResult> {
    for (let tries = 1; ; tries++) {
      const done = await this.inTransaction().catch((error: unknown): typeof STALE_BATCH => {
        if (error === STALE_BATCH) return STALE_BATCH
        throw error
      })
      if (done !== STALE_BATCH) return this.report(done.fates, done.timing)
      this.options.logger.debug({ tries }, 'txbox relay: a lane changed hands while its batch was read; taking it again')
      // Lanes change hands between relays all the time; this many stale
      // batches in a row would mean something else deletes outbox rows.
      if (tries >= MAX_STALE_BATCHES) throw new Error('txbox relay: 10 batches in a row read rows that were deleted under them; is something else deleting outbox rows?')
    }
  }

  /** Steps 1 to 5: resolves once committed, to each message's fate (and the timings for the `cycle` event). */
  private inTransaction(): Promise<{ fates: Fate[]; timing: CycleTiming }> {
    // A clock read per batch, nothing per message.
    const timing = { claimMs: 0, publishMs: 0 }
    return this.options.db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx) => {
        const deleteStarted = performance.now()
        const batch = await this.deleteBatch(trx)
        timing.claimMs = performance.now() - deleteStarted
        const publishStarted = performance.now()
        const results =
          batch.messages.length === 0
            ? []
            : await publishBatch(
                this.options.publisher,
                batch.messages.map((m) => m.message),
                { waves: this.waves, keyOrder: this.options.blockKeyOnFailure, timeoutMs: this.options.publishTimeout },
              )
        if (batch.messages.length > 0) timing.publishMs = performance.now() - publishStarted
        const fates = settle(batch.messages, results, this.options)
        await this.writeBack(trx, fates, batch)
        return { fates, timing }
      })
  }

  /** Step 1: deletes a batch (see delete-batch.ts) and reads it in id order. */
  private async deleteBatch(trx: Transaction<any>): Promise<TakenBatch> {
    const { names, blockKeyOnFailure } = this.options
    const timeout = `${this.options.publishTimeout + TIMEOUT_MARGIN_MS}ms`
    const { rows } = await runSql(
      trx,
      deleteBatchStatement(names, blockKeyOnFailure, {
        rotation: Math.floor(Math.random() * LANE_COUNT),
        laneLockSpace: names.locks.lanes,
        lanesPerClaim: this.options.lanesPerClaim,
        batchSize: this.options.batchSize,
        perLane: this.perLane,
        idleTimeout: timeout,
        statementTimeout: timeout,
      }),
    )
    const first = rows[0]
    if (first === undefined) {
      // Nothing deleted, so nothing said about the lanes locked: one locked
      // and taken nothing from may hold only blocked keys' rows.
      if (!blockKeyOnFailure) return { messages: [], passedOver: [] }
      const held = await runSql(trx, lanesHeld(names, { laneLockSpace: names.locks.lanes }))
      return { messages: [], passedOver: held.rows.map((r) => ({ lane: r.lane, upto: null })) }
    }
    if (rows.length !== first.selected) throw STALE_BATCH
    // DELETE … RETURNING does not promise an order.
    rows.sort((a, b) => compareIds(a.id, b.id))
    return {
      messages: rows.map(toTakenMessage),
      passedOver: (first.held_lanes ?? []).map((lane, i) => ({ lane, upto: first.held_upto?.[i] ?? null })),
    }
  }

  /** Step 4: what was not published goes back (or to the dead letters); keys are held back or released. */
  private async writeBack(trx: Transaction<any>, fates: readonly Fate[], batch: TakenBatch): Promise<void> {
    const unpublished = fates.filter((f) => f.kind !== 'published')
    if (unpublished.length > 0) {
      const column = <T>(value: (f: Exclude<Fate, { kind: 'published' }>) => T) => unpublished.map((f) => value(f as Exclude<Fate, { kind: 'published' }>))
      await runSql(
        trx,
        putBackUnpublished(this.options.names, {
          ids: column((f) => f.taken.message.id),
          messageIds: column((f) => f.taken.message.messageId),
          topics: column((f) => f.taken.message.topic),
          keys: column((f) => f.taken.message.key),
          payloads: column((f) => f.taken.message.payload),
          headers: column((f) => f.taken.headersText),
          attempts: column((f) => (f.kind === 'retry' || f.kind === 'dead' ? f.attempts : f.taken.message.attempts)),
          lastErrors: column((f) => ('error' in f ? errorText(f.error) : f.taken.lastError)),
          retryInMs: column((f) => (f.kind === 'retry' ? f.retryInMs : null)),
          availableAt: column((f) => (f.kind === 'held-back' ? 'infinity' : f.taken.availableAt)),
          createdAt: column((f) => f.taken.message.createdAt),
          dead: column((f) => f.kind === 'dead'),
        }),
      )
    }
    const release = keysToRelease(fates)
    if (release.length === 0 && batch.passedOver.length === 0) return
    await runSql(
      trx,
      holdBackKeys(this.options.names, {
        release,
        lanes: batch.passedOver.map((p) => p.lane),
        upto: batch.passedOver.map((p) => p.upto),
      }),
    )
  }

  /** Step 6, after COMMIT: counters, events and logs. */
  private report(fates: readonly Fate[], timing: CycleTiming): CycleResult {
    if (fates.length === 0) {
      this.reports.emit('cycle', { claimed: 0, published: 0, ...timing })
      return { taken: 0, published: 0 }
    }
    const { counters } = this.reports
    const { logger } = this.options
    counters.batches += 1
    const published = fates.filter((f) => f.kind === 'published').map((f) => f.taken.message)
    counters.published += published.length
    if (published.length > 0) this.reports.emit('published', { messages: published })
    for (const fate of fates) {
      const { message } = fate.taken
      // The publisher's own error, with its class and cause, reaches the listeners.
      if (fate.kind === 'dead') {
        counters.deadLettered += 1
        logger.error({ messageId: message.messageId, topic: message.topic, attempts: fate.attempts, err: errorText(fate.error) }, 'txbox relay: message moved to the dead letters')
        this.reports.emit('dead', { message, error: fate.error, attempts: fate.attempts })
      } else if (fate.kind === 'retry') {
        counters.failed += 1
        logger.warn({ messageId: message.messageId, topic: message.topic, attempts: fate.attempts, err: errorText(fate.error) }, 'txbox relay: publish failed; will retry')
        this.reports.emit('failed', { message, error: fate.error, attempts: fate.attempts, retryAt: new Date(Date.now() + fate.retryInMs) })
      }
    }
    this.reports.emit('cycle', { claimed: fates.length, published: published.length, ...timing })
    const unreachable = fates.find((f) => f.kind === 'unreached')?.error
    logger.debug({ taken: fates.length, published: published.length }, 'txbox relay: batch settled')
    return unreachable === undefined ? { taken: fates.length, published: published.length } : { taken: fates.length, published: published.length, unreachable }
  }
}

/** An error as stored in `last_error`: its class and message, cut to a length a row can afford. */
function errorText(error: Error): string {
  const text = error.message ? `${error.name}: ${error.message}` : String(error)
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text
}
