import { createRelay, type OutboxMessage, type Publisher, type Relay, silentLogger } from '@txbox/core'
import { type FaultInjectingPublisher, faultInjectingPublisher, type PublishFault, type RefusalRule, terminateBackends } from '@txbox/testing'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { BrokerFixture, RelayBrokerLink } from './broker-fixture.js'
import { nOf } from './history-index.js'
import type { RunHistory } from './run-history.js'
import type { RunConfig } from './scenario-model.js'

export interface FleetContext {
  readonly config: RunConfig
  readonly schema: string
  /** The run role's URL: relays get the run's server settings. */
  readonly roleUrl: string
  /** The harness's own connection, to terminate relay sessions. */
  readonly admin: Kysely<any>
  readonly broker: BrokerFixture
  readonly history: RunHistory
  readonly runTag: string
  /** Wraps the real publisher before faults are injected around it (the checker's self-test plants bugs here). */
  readonly wrapRealPublisher?: (publisher: Publisher) => Publisher
}

/** One relay in one of its lives. */
interface RelayLife {
  readonly slot: number
  readonly generation: number
  readonly applicationName: string
  readonly relay: Relay
  readonly publisher: FaultInjectingPublisher
  readonly link: RelayBrokerLink
  readonly db: Kysely<any>
}

/** How long a relay may take to stop: its batch in flight waits at most the publish timeout. */
const STOP_SLACK_MS = 15_000

/**
 * The run's relays, in process: each with its own pool (as the run's role),
 * its own broker connection and its own fault injector, recording every
 * publish call and every dead letter into the history.
 */
export class RelayFleet {
  private lives: RelayLife[] = []
  private readonly retiring: Promise<void>[] = []
  private rule: RefusalRule | undefined
  private generations = 0

  constructor(private readonly ctx: FleetContext) {}

  get size(): number {
    return this.lives.length
  }

  /** Starts one relay per entry of the config (or `concurrencies`, for the clean drain). */
  async start(concurrencies: readonly number[] = this.ctx.config.relays): Promise<void> {
    for (const concurrency of concurrencies) this.lives.push(await this.startLife(this.lives.length, concurrency))
  }

  inject(slot: number, fault: PublishFault): void {
    this.lives[slot % this.lives.length]?.publisher.inject(fault)
  }

  /** Every relay, present and future, refuses what `rule` matches. */
  refuseWhen(rule: RefusalRule | undefined): void {
    this.rule = rule
    for (const life of this.lives) life.publisher.refuseWhen(rule)
  }

  /**
   * Crashes a relay: its database sessions are terminated, so its open
   * transactions roll back while it may still be publishing. With `restart`
   * it is abandoned (stopped in the background) and a new relay takes its
   * place; without, it reconnects by itself.
   */
  async crash(slot: number, restart: boolean): Promise<void> {
    const index = slot % this.lives.length
    const life = this.lives[index] as RelayLife
    this.ctx.history.crashes.push({ relay: index, generation: life.generation, at: Date.now(), restart })
    await terminateBackends(this.ctx.admin, life.applicationName)
    if (!restart) return
    this.retiring.push(this.retire(life))
    this.lives[index] = await this.startLife(index, this.ctx.config.relays[index] ?? 1)
  }

  /** Stops every relay (and the abandoned ones); reports relays that would not stop. */
  async stopAll(): Promise<void> {
    const lives = this.lives
    this.lives = []
    await Promise.all([...lives.map((life) => this.retire(life)), ...this.retiring.splice(0)])
  }

  private async retire(life: RelayLife): Promise<void> {
    life.publisher.clearFaults()
    let timer: NodeJS.Timeout | undefined
    const stopped = await Promise.race([
      life.relay.stop().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.ctx.config.publishTimeoutMs + STOP_SLACK_MS))),
    ])
    clearTimeout(timer)
    if (!stopped) this.ctx.history.harnessErrors.push(`relay ${life.slot}.${life.generation} did not stop within ${this.ctx.config.publishTimeoutMs + STOP_SLACK_MS} ms`)
    await life.link.close().catch(() => {})
    await life.db.destroy().catch(() => {})
  }

  private async startLife(slot: number, concurrency: number): Promise<RelayLife> {
    const { config, history } = this.ctx
    const generation = ++this.generations
    const applicationName = `${this.ctx.runTag}_r${slot}_${generation}`
    const pool = new pg.Pool({ connectionString: this.ctx.roleUrl, max: concurrency + 2, application_name: applicationName })
    // Terminated sessions surface here (idle clients); the relay guards checked-out ones (its `pool` option).
    pool.on('error', () => {})
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
    const link = await this.ctx.broker.linkFor(applicationName)
    const real = this.ctx.wrapRealPublisher ? this.ctx.wrapRealPublisher(link.publisher) : link.publisher
    const publisher = faultInjectingPublisher(real, {
      closeConnection: link.closeConnection,
      onCall: (record) => history.calls.push({ ...record, relay: slot, generation }),
    })
    if (this.rule) publisher.refuseWhen(this.rule)
    const relay = createRelay({
      db,
      pool,
      listen: pool,
      publisher,
      schema: this.ctx.schema,
      batchSize: config.batchSize,
      concurrency,
      maxAttempts: config.maxAttempts,
      publishTimeout: config.publishTimeoutMs,
      blockKeyOnFailure: config.blockKeyOnFailure,
      pollInterval: 100,
      backoff: { initialDelay: 20, maxDelay: 200 },
      // The checker judges outcomes from its own records; thousands of expected warnings would bury its report.
      logger: silentLogger,
    })
    relay.on('dead', ({ message }: { message: OutboxMessage }) => {
      const n = nOf(message.payload)
      if (n !== null) history.deaths.push({ n, at: Date.now() })
    })
    // Errors are the relay's business (it backs off and carries on); the checker judges outcomes,
    // and names these when a batch was repeated.
    relay.on('error', (error: Error) => {
      history.relayErrors.push({ relay: slot, generation, at: Date.now(), message: `${(error as { code?: string }).code ?? error.name}: ${error.message}`.slice(0, 160) })
    })
    try {
      await relay.start()
    } catch (error) {
      await link.close().catch(() => {})
      await db.destroy().catch(() => {})
      throw error
    }
    return { slot, generation, applicationName, relay, publisher, link, db }
  }
}
