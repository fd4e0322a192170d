import { EventEmitter } from 'node:events'
import { guardPoolClients } from '../pool-guard.js'
import { notifyRelays } from '../sql/outbox/notify-relays.js'
import { checkOutbox } from '../sql/relay/check-outbox.js'
import { runSql } from '../sql/run-sql.js'
import { DelayedPromotion } from './delayed-promotion.js'
import { registerInProcessRelay } from './in-process-relays.js'
import { RelayCycle } from './relay-cycle.js'
import type { RelayErrorSource, RelayEvents } from './relay-events.js'
import { type RelayCounters, type RelayMetrics, readOutboxStats } from './relay-metrics.js'
import { type RelayOptions, type ResolvedRelayOptions, resolveRelayOptions } from './relay-options.js'
import { WakeUpListener } from './wake-up-listener.js'

/**
 * Longest wait between tries while the broker is unreachable: the wait is
 * also how long the relay may take to notice the broker is back.
 */
const UNREACHABLE_MAX_WAIT_MS = 5_000

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
  private unregisterInProcess: (() => void) | undefined
  private wakeWaiters = new Set<() => void>()
  private pendingSignal = false
  private readonly counters: RelayCounters = { published: 0, failed: 0, deadLettered: 0, batches: 0 }
  private readonly cycle: RelayCycle
  private readonly promotion: DelayedPromotion

  constructor(private readonly options: ResolvedRelayOptions) {
    super()
    // Guard the pools now, before the relay's first query: see RelayOptions.pool.
    const onConnectionError = (error: Error) => options.logger.warn({ err: error }, 'txbox relay: a database connection ended')
    if (options.pool) guardPoolClients(options.pool, onConnectionError)
    if (options.listen) guardPoolClients(options.listen, onConnectionError)
    this.cycle = new RelayCycle(options, { counters: this.counters, emit: (event, ...args) => this.emit(event, ...args) })
    this.promotion = new DelayedPromotion(options.db, options.names, options)
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
    // A missing outbox table rejects start() with SchemaNotMigratedError.
    await runSql(this.options.db, checkOutbox(this.options.names))
    if (this.options.listen) {
      const sendProbe = async (channel: string, payload: string) => {
        await runSql(this.options.db, notifyRelays({ channel, payload }))
      }
      this.listener = new WakeUpListener(
        this.options.listen,
        this.options.names.channel,
        () => this.wake(),
        (e) => this.emitError(e, 'wake-up'),
        this.options.logger,
        sendProbe,
      )
      await this.listener.start()
    } else {
      this.options.logger.info(
        { pollInterval: this.options.pollInterval, channel: this.options.names.channel },
        `txbox relay: no \`listen\` given: commits made with withTransaction in this process wake the relay at once; messages committed elsewhere (other processes, transactions txbox does not open) are found by polling every ${this.options.pollInterval} ms, so they wait up to ${this.options.pollInterval} ms. Give \`listen: pool\` to be woken by their NOTIFY`,
      )
    }
    // Commits in this process wake the relay directly, with or without `listen`.
    this.unregisterInProcess = registerInProcessRelay(this.options.names.channel, () => this.wake())
    this.options.logger.info({ batchSize: this.options.batchSize, concurrency: this.options.concurrency, outbox: this.options.names.quoted.outbox }, 'txbox relay started')
    this.loops = Array.from({ length: this.options.concurrency }, () => this.loop())
  }

  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve()
    if (this.state === 'stopping' && this.stopPromise) return this.stopPromise
    const starting = this.state === 'starting' ? this.startPromise : undefined
    this.state = 'stopping'
    this.stopPromise = (async () => {
      await starting?.catch(() => {})
      this.state = 'stopping'
      this.unregisterInProcess?.()
      this.unregisterInProcess = undefined
      this.wake()
      await Promise.all(this.loops)
      this.loops = []
      await this.listener?.stop()
      this.listener = undefined
      this.state = 'stopped'
      this.options.logger.info({}, 'txbox relay stopped')
    })()
    return this.stopPromise
  }

  async runOnce(): Promise<number> {
    await this.promotion.runIfDue()
    const { published } = await this.cycle.run()
    return published
  }

  async metrics(): Promise<RelayMetrics> {
    const stats = await readOutboxStats(this.options.db, this.options.names)
    return { ...stats, ...this.counters }
  }

  private async loop(): Promise<void> {
    let errorStreak = 0
    let unreachableStreak = 0
    while (this.state === 'running' || this.state === 'starting') {
      try {
        // A failed promotion (or sweep) must not keep the relay from its claims.
        await this.promotion.runIfDue().catch((error: Error) => {
          this.emitError(error, 'promotion')
          this.options.logger.warn({ err: error }, 'txbox relay: promoting delayed messages failed; claiming anyway')
        })
        const { taken, published, unreachable } = await this.cycle.run()
        errorStreak = 0
        if (unreachable) {
          // The broker was not reached: nothing was spent, nothing is lost.
          // Say so; if nothing got through, wait, longer each time.
          unreachableStreak = published === 0 ? unreachableStreak + 1 : 0
          const retryInMs = published === 0 ? backoffDelay(unreachableStreak, UNREACHABLE_MAX_WAIT_MS) : 0
          this.options.logger.warn(
            { err: unreachable, messages: taken - published, retryInMs },
            'txbox relay: the broker is unreachable; the messages wait in the outbox and no attempt is counted',
          )
          this.emit('unreachable', { error: unreachable, messages: taken - published, retryInMs })
          if (retryInMs > 0) await this.sleep(retryInMs, false)
          continue
        }
        if (unreachableStreak > 0) this.options.logger.info({ published }, 'txbox relay: the broker is reachable again')
        unreachableStreak = 0
        // Take again at once while takes find work: a short take does not
        // mean the outbox is drained (publishing in waves takes a few rows
        // per lane), and waiting a poll interval after each one drained a
        // backlog at batchSize / 16 rows per lane per second.
        if (taken > 0) continue
        this.emit('idle')
        await this.sleep(this.options.pollInterval, true)
      } catch (error) {
        errorStreak += 1
        this.emitError(error as Error, 'cycle')
        const delay = backoffDelay(errorStreak, 30_000)
        this.options.logger.warn({ err: error, retryInMs: delay }, 'txbox relay: cycle failed; backing off')
        await this.sleep(delay, false)
      }
    }
  }

  private emitError(error: Error, source: RelayErrorSource): void {
    this.options.logger.error({ err: error }, 'txbox relay error')
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

/** Exponential from 200 ms, capped. */
function backoffDelay(streak: number, capMs: number): number {
  return Math.min(capMs, 100 * 2 ** Math.min(streak, 9))
}
