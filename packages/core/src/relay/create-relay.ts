import { EventEmitter } from 'node:events'
import { SchemaNotMigratedError } from '../errors/schema-not-migrated-error.js'
import type { OutboxMessage } from '../publisher.js'
import { runSql } from '../sql-executor.js'
import { type ClaimOptions, claimBatch } from './claim-batch.js'
import type { ClaimedRow } from './claimed-row.js'
import { holdBack } from './hold-back.js'
import { promoteDelayed } from './promote-delayed.js'
import { releaseOrphans } from './release-orphans.js'
import { type Outcome, publishBatch } from './publish-in-waves.js'
import type { RelayErrorSource, RelayEvents } from './relay-events.js'
import { type OutboxStats, readOutboxStats } from './relay-metrics.js'
import { type RelayOptions, type ResolvedRelayOptions, resolveRelayOptions } from './relay-options.js'
import { settleFailures, type Unconfirmed } from './settle-failures.js'
import { guardPoolClients, WakeUpListener } from './wake-up-listener.js'

/** Counters since the relay was created, plus a snapshot of the outbox. */
export interface RelayMetrics extends OutboxStats {
  readonly published: number
  readonly failed: number
  readonly deadLettered: number
  readonly batches: number
}

/** Thrown inside the claim's transaction to roll it back: see claimBatchSql. */
const STALE_CLAIM = Symbol('stale claim')

/**
 * Longest wait between tries while the broker is unreachable: the wait is
 * also how long the relay may take to notice the broker is back.
 */
const UNREACHABLE_MAX_WAIT_MS = 5_000

/** What the relay's own transaction allows beyond publishTimeout before the server may end it. */
const TIMEOUT_MARGIN_MS = 30_000

/** The result of one claim, publish and settle cycle. */
interface CycleResult {
  readonly claimed: number
  readonly published: number
  /** The transport failure that sent messages of the batch back unattempted, if any. */
  readonly unreachable?: Error
}

/**
 * Publishes committed outbox messages. Create it with {@link createRelay}.
 */
export interface Relay {
  /** Starts the relay's loops. Idempotent; rejects (and stays stopped) if the outbox tables are missing or the database is unreachable. */
  start(): Promise<void>
  /** Stops gracefully: batches in flight are published and settled, then it resolves. Idempotent. Does not close `db` or the publisher. */
  stop(): Promise<void>
  /** One claim, publish and settle cycle; resolves to the number of messages published. */
  runOnce(): Promise<number>
  /** Counters and a snapshot of the outbox (backlog, oldest message's age, dead letters). */
  metrics(): Promise<RelayMetrics>
  /** Whether the loops are running. */
  readonly running: boolean
  on<E extends keyof RelayEvents>(event: E, listener: RelayEvents[E]): this
  once<E extends keyof RelayEvents>(event: E, listener: RelayEvents[E]): this
  off<E extends keyof RelayEvents>(event: E, listener: RelayEvents[E]): this
}

/**
 * Creates a relay: it claims committed messages in batches, publishes them
 * through `publisher`, and deletes them once the broker confirmed them, with
 * retries, dead letters and per-key order. Run one or many (processes or
 * `concurrency`): they share the work without breaking per-key order.
 *
 * @example
 * const relay = createRelay({ db, publisher: redisStreamsPublisher({ redis }), listen: pool })
 * relay.on('dead', ({ message, error }) => log.error({ err: error, id: message.messageId }, 'dead letter'))
 * await relay.start()
 * process.on('SIGTERM', () => relay.stop())
 */
export function createRelay(options: RelayOptions): Relay {
  return new OutboxRelay(resolveRelayOptions(options))
}

class OutboxRelay extends EventEmitter implements Relay {
  private state: 'stopped' | 'starting' | 'running' | 'stopping' = 'stopped'
  private loops: Promise<void>[] = []
  private startPromise: Promise<void> | undefined
  private stopPromise: Promise<void> | undefined
  private listener: WakeUpListener | undefined
  private wakeWaiters = new Set<() => void>()
  private pendingSignal = false
  private lastPromotionAt = 0
  /** Where the next pass of the held-back sweep starts (see release-orphans.ts). */
  private sweepFrom: string | null = null
  private nextDueAt = 0
  private readonly counters = { published: 0, failed: 0, deadLettered: 0, batches: 0 }

  /**
   * Most rows a claim takes from one lane. When the publisher needs waves
   * (blocking mode, no `stopsKeyOnFailure`), a batch costs one round trip per
   * message of its busiest key, and a lane holds few keys; taking less from
   * each lane and more lanes spreads a batch over more keys and cuts the waves.
   */
  private readonly perLane: number
  private readonly claimOptions: ClaimOptions

  constructor(private readonly o: ResolvedRelayOptions) {
    super()
    // Guard the pools now, before the relay's first query: see RelayOptions.pool.
    const onConnectionError = (error: Error) => o.logger.warn({ err: error }, 'txbox relay: a database connection ended')
    if (o.pool) guardPoolClients(o.pool, onConnectionError)
    if (o.listen) guardPoolClients(o.listen, onConnectionError)
    const waves = o.blockKeyOnFailure && o.publisher.stopsKeyOnFailure !== true
    this.perLane = waves ? Math.max(1, Math.ceil(o.batchSize / 16)) : o.batchSize
    this.claimOptions = {
      batchSize: o.batchSize,
      perLane: this.perLane,
      lanesPerClaim: o.lanesPerClaim,
      blockKeyOnFailure: o.blockKeyOnFailure,
      // The transaction is idle while the broker has the batch, for up to
      // publishTimeout; the settle after it must not be cut short either.
      idleTimeoutMs: o.publishTimeout + TIMEOUT_MARGIN_MS,
      statementTimeoutMs: o.publishTimeout + TIMEOUT_MARGIN_MS,
    }
  }

  get running(): boolean {
    return this.state === 'running'
  }

  start(): Promise<void> {
    if (this.state === 'running') return Promise.resolve()
    if (this.state === 'starting' && this.startPromise) return this.startPromise
    if (this.state === 'stopping' && this.stopPromise) return this.stopPromise.then(() => this.start())
    this.state = 'starting'
    this.startPromise = this.doStart().then(
      () => {
        this.state = 'running'
      },
      (error) => {
        this.state = 'stopped'
        throw error
      },
    )
    return this.startPromise
  }

  private async doStart(): Promise<void> {
    await this.checkSchema()
    if (this.o.listen) {
      const sendProbe = async (channel: string, payload: string) => {
        await runSql(this.o.db, 'SELECT pg_notify($1, $2)', [channel, payload])
      }
      this.listener = new WakeUpListener(this.o.listen, this.o.names.channel, () => this.wake(), (e) => this.emitError(e, 'wake-up'), this.o.logger, sendProbe)
      await this.listener.start()
    }
    this.o.logger.info({ batchSize: this.o.batchSize, concurrency: this.o.concurrency, outbox: this.o.names.quoted.outbox }, 'txbox relay started')
    this.loops = Array.from({ length: this.o.concurrency }, () => this.loop())
  }

  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve()
    if (this.state === 'stopping' && this.stopPromise) return this.stopPromise
    const starting = this.state === 'starting' ? this.startPromise : undefined
    this.state = 'stopping'
    this.stopPromise = (async () => {
      await starting?.catch(() => {})
      this.state = 'stopping'
      this.wake()
      await Promise.all(this.loops)
      this.loops = []
      await this.listener?.stop()
      this.listener = undefined
      this.state = 'stopped'
      this.o.logger.info({}, 'txbox relay stopped')
    })()
    return this.stopPromise
  }

  async runOnce(): Promise<number> {
    await this.maybePromote()
    const { published } = await this.cycle()
    return published
  }

  async metrics(): Promise<RelayMetrics> {
    const stats = await readOutboxStats(this.o.db, this.o.names)
    return { ...stats, ...this.counters }
  }

  private async checkSchema(): Promise<void> {
    try {
      await runSql(this.o.db, `SELECT 1 FROM ${this.o.names.quoted.outbox} LIMIT 0`)
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') throw new SchemaNotMigratedError(this.o.names.quoted.outbox, { cause: error, tables: this.o.names })
      throw error
    }
  }

  private async loop(): Promise<void> {
    let errorStreak = 0
    let unreachableStreak = 0
    while (this.state === 'running' || this.state === 'starting') {
      try {
        // A failed promotion (or sweep) must not keep the relay from its claims.
        await this.maybePromote().catch((error: Error) => {
          this.emitError(error, 'promotion')
          this.o.logger.warn({ err: error }, 'txbox relay: promoting delayed messages failed; claiming anyway')
        })
        const { claimed, published, unreachable } = await this.cycle()
        errorStreak = 0
        if (unreachable) {
          // The broker was not reached: nothing was spent, nothing is lost.
          // Say so; if nothing got through, wait, longer each time.
          unreachableStreak = published === 0 ? unreachableStreak + 1 : 0
          const retryInMs = published === 0 ? backoffDelay(unreachableStreak, UNREACHABLE_MAX_WAIT_MS) : 0
          this.o.logger.warn(
            { err: unreachable, messages: claimed - published, retryInMs },
            'txbox relay: the broker is unreachable; the messages wait in the outbox and no attempt is counted',
          )
          this.emit('unreachable', { error: unreachable, messages: claimed - published, retryInMs })
          if (retryInMs > 0) await this.sleep(retryInMs, false)
          continue
        }
        if (unreachableStreak > 0) this.o.logger.info({ published }, 'txbox relay: the broker is reachable again')
        unreachableStreak = 0
        // Claim again at once while claims find work: a short claim does not
        // mean the outbox is drained (publishing in waves takes a few rows
        // per lane), and waiting a poll interval after each one drained a
        // backlog at batchSize / 16 rows per lane per second.
        if (claimed > 0) continue
        if (claimed === 0) this.emit('idle')
        await this.sleep(this.o.pollInterval, true)
      } catch (error) {
        errorStreak += 1
        this.emitError(error as Error, 'cycle')
        const delay = backoffDelay(errorStreak, 30_000)
        this.o.logger.warn({ err: error, retryInMs: delay }, 'txbox relay: cycle failed; backing off')
        await this.sleep(delay, false)
      }
    }
  }


  /**
   * Promotes due delayed messages when the next known one is due, and at
   * least once per poll interval (a writer may have added an earlier one).
   * Not on every cycle: it is a round trip the hot path does not need.
   */
  private async maybePromote(): Promise<void> {
    const now = Date.now()
    if (now < this.nextDueAt && now - this.lastPromotionAt < this.o.pollInterval) return
    this.lastPromotionAt = now
    const { promoted, nextDueAt, orphans, sweepFrom } = await promoteDelayed(this.o.db, this.o.names, this.o.batchSize, this.sweepFrom)
    this.sweepFrom = sweepFrom
    // A full promotion may have left more due rows: look again on the next cycle.
    this.nextDueAt = promoted >= this.o.batchSize ? now : (nextDueAt?.getTime() ?? Number.POSITIVE_INFINITY)
    if (promoted > 0) this.o.logger.debug({ promoted }, 'txbox relay: delayed messages are due')
    const released = await releaseOrphans(this.o.db, this.o.names, orphans)
    if (released > 0) this.o.logger.warn({ released }, 'txbox relay: released held-back messages whose key has no failed message left (was one deleted by hand?)')
  }

  /**
   * Claim, publish and settle one batch in one transaction. The claim deletes
   * the rows; COMMIT makes that final only after the broker confirmed them.
   * If the process dies before, the transaction rolls back and the rows (and
   * their lanes) are free for the next claim.
   *
   * The transaction is READ COMMITTED whatever the server's default: at
   * SERIALIZABLE or REPEATABLE READ its COMMIT could fail with a
   * serialization error after the broker took the batch (measured: 500 of
   * 4,500 deliveries were duplicates with a serializable default). A claim
   * that read a lane's state from before its previous holder committed is
   * rolled back and taken again at once (see claimBatchSql).
   */
  private async cycle(): Promise<CycleResult> {
    for (let tries = 1; ; tries++) {
      const result = await this.claimPublishSettle()
      if (result !== STALE_CLAIM) return result
      this.o.logger.debug({ tries }, 'txbox relay: a lane changed hands during the claim; claiming again')
      // Lanes change hands between relays all the time; this many stale
      // claims in a row would mean something else deletes outbox rows.
      if (tries >= 10) throw new Error('txbox relay: 10 claims in a row read rows that were deleted under them; is something else deleting outbox rows?')
    }
  }

  private async claimPublishSettle(): Promise<CycleResult | typeof STALE_CLAIM> {
    const o = this.o
    // Timings for the `cycle` event (metrics): a clock read per batch, nothing per message.
    const timing = { claimMs: 0, publishMs: 0 }
    let result: { rows: ClaimedRow[]; outcomes: Map<string, Outcome>; unconfirmed: Unconfirmed[] }
    try {
      result = await o.db
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (trx) => {
          const claimStarted = performance.now()
          const claim = await claimBatch(trx, o.names, this.claimOptions)
          timing.claimMs = performance.now() - claimStarted
          if (!claim.consistent) throw STALE_CLAIM
          const rows = claim.rows
          if (rows.length === 0) {
            await holdBack(trx, o.names, [], claim.passedOver)
            return { rows, outcomes: new Map<string, Outcome>(), unconfirmed: [] as Unconfirmed[] }
          }
          const publishStarted = performance.now()
          const outcomes = await publishBatch(
            o.publisher,
            rows.map((r) => r.message),
            { keyOrder: o.blockKeyOnFailure, timeoutMs: o.publishTimeout },
          )
          timing.publishMs = performance.now() - publishStarted
          const unconfirmed = this.unconfirmed(rows, outcomes)
          await settleFailures(trx, o.names, unconfirmed)
          await holdBack(trx, o.names, keysToRelease(rows, outcomes), claim.passedOver)
          return { rows, outcomes, unconfirmed }
        })
    } catch (error) {
      if (error === STALE_CLAIM) return STALE_CLAIM
      throw error
    }
    // Events only after COMMIT: what they report is durable.
    const { rows, unconfirmed } = result
    if (rows.length === 0) {
      this.emit('cycle', { claimed: 0, published: 0, ...timing })
      return { claimed: 0, published: 0 }
    }
    this.counters.batches += 1
    const published: OutboxMessage[] = []
    for (const row of rows) if (result.outcomes.get(row.message.id)?.kind === 'confirmed') published.push(row.message)
    this.counters.published += published.length
    if (published.length > 0) this.emit('published', { messages: published })
    this.reportFailures(unconfirmed)
    this.emit('cycle', { claimed: rows.length, published: published.length, ...timing })
    o.logger.debug({ claimed: rows.length, published: published.length }, 'txbox relay: batch settled')
    const unreached = unconfirmed.find((u) => u.kind === 'unreached')
    return { claimed: rows.length, published: published.length, unreachable: unreached?.cause }
  }

  private unconfirmed(rows: readonly ClaimedRow[], outcomes: Map<string, Outcome>): Unconfirmed[] {
    const out: Unconfirmed[] = []
    const retried = new Set<string>()
    for (const row of rows) {
      const outcome = outcomes.get(row.message.id) ?? { kind: 'unattempted' as const }
      if (outcome.kind === 'confirmed') continue
      if (outcome.kind === 'unattempted') {
        // In blocking mode, behind a head that will be retried: held back
        // (a failed row keeps its own state; its key is blocked by the head).
        const heldBack = this.o.blockKeyOnFailure && row.message.attempts === 0 && row.message.key !== null && retried.has(row.message.key)
        out.push({ kind: 'unattempted', row, heldBack })
        continue
      }
      const error = describeError(outcome.error)
      const cause = outcome.error
      if (outcome.transport) {
        out.push({ kind: 'unreached', row, error, cause })
        continue
      }
      const attempts = row.message.attempts + 1
      if (outcome.permanent || attempts >= this.o.maxAttempts) out.push({ kind: 'dead', row, error, cause })
      else {
        out.push({ kind: 'retry', row, error, cause, retryInMs: Math.max(0, this.o.retryDelay(attempts)) })
        if (row.message.key !== null) retried.add(row.message.key)
      }
    }
    return out
  }

  private reportFailures(unconfirmed: readonly Unconfirmed[]): void {
    for (const u of unconfirmed) {
      if (u.kind === 'unattempted' || u.kind === 'unreached') continue
      // The publisher's own error, with its class and cause, reaches the listeners.
      const error = u.cause
      const attempts = u.row.message.attempts + 1
      if (u.kind === 'dead') {
        this.counters.deadLettered += 1
        this.o.logger.error({ messageId: u.row.message.messageId, topic: u.row.message.topic, attempts, err: u.error }, 'txbox relay: message moved to the dead letters')
        this.emit('dead', { message: u.row.message, error, attempts })
      } else {
        this.counters.failed += 1
        this.o.logger.warn({ messageId: u.row.message.messageId, topic: u.row.message.topic, attempts, err: u.error }, 'txbox relay: publish failed; will retry')
        this.emit('failed', { message: u.row.message, error, attempts, retryAt: new Date(Date.now() + u.retryInMs) })
      }
    }
  }

  private emitError(error: Error, source: RelayErrorSource): void {
    this.o.logger.error({ err: error }, 'txbox relay error')
    if (this.listenerCount('error') > 0) this.emit('error', error, { source })
  }

  /** Wakes sleeping loops (a notification, or stop()). */
  private wake(): void {
    this.pendingSignal = true
    for (const waiter of this.wakeWaiters) waiter()
  }

  /** Sleeps up to `ms`, ending early on stop() and, if `wakeable`, on a signal. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.state !== 'running' && this.state !== 'starting') return Promise.resolve()
    if (wakeable && this.pendingSignal) {
      this.pendingSignal = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = () => {
        clearTimeout(timer)
        this.wakeWaiters.delete(waiter)
        resolve()
      }
      const waiter = () => {
        if (wakeable || this.state === 'stopping') {
          this.pendingSignal = false
          done()
        }
      }
      timer = setTimeout(done, ms)
      this.wakeWaiters.add(waiter)
    })
  }
}

/**
 * Keys whose failed rows may all be gone after this batch: a failed row that
 * was published, or a message that failed (it may have gone dead). Their held-back rows are
 * released if no failed row of theirs is left (checked in the database).
 */
function keysToRelease(rows: readonly ClaimedRow[], outcomes: Map<string, Outcome>): string[] {
  const keys = new Set<string>()
  for (const row of rows) {
    const { key, attempts, id } = row.message
    if (key === null) continue
    const outcome = outcomes.get(id)
    // A failed key keeps its failed row unless it went dead: the database checks.
    if ((attempts > 0 && outcome?.kind === 'confirmed') || outcome?.kind === 'failed') keys.add(key)
  }
  return [...keys]
}

/** Exponential from 200 ms, capped. */
function backoffDelay(streak: number, capMs: number): number {
  return Math.min(capMs, 100 * 2 ** Math.min(streak, 9))
}

function describeError(error: Error): string {
  return error.message ? `${error.name}: ${error.message}` : String(error)
}
