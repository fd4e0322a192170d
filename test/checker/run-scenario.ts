import type { OutboxMessage, Publisher } from '@txbox/core'
import type { RefusalRule } from '@txbox/testing'
import { type CheckReport, checkHistory } from './check-history.js'
import { runDeadCommand } from './dead-commands.js'
import { drainWithCleanRelays, readEndState } from './end-phase.js'
import { RelayFleet } from './relay-fleet.js'
import { type RunEnvironment, setUpRun } from './run-environment.js'
import { RunHistory } from './run-history.js'
import { runWriterTransaction, type WriterContext } from './run-writer.js'
import type { Action, Scenario } from './scenario-model.js'
import { insertRawRow, waitUntilNoReadyRows } from './outbox-rows.js'
import { WriterChains } from './writer-chains.js'

export interface RunOptions {
  /** Plants a bug in the real publisher (the checker's self-test). */
  readonly wrapRealPublisher?: (publisher: Publisher) => Publisher
  /** Keeps the run's schema when it fails (TXBOX_CHECKER_KEEP=1). */
  readonly keepOnFailure?: boolean
}

export interface RunOutcome {
  readonly report: CheckReport
  readonly durationMs: number
}

/**
 * One checker run: sets up an isolated schema, role and broker place, runs
 * the scenario's actions with relays working meanwhile, ends the faults,
 * lets clean relays drain the outbox, reads what the broker holds and checks
 * the history. Always cleans up.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunOutcome> {
  const started = Date.now()
  const history = new RunHistory()
  const env = await setUpRun(scenario.config)
  const fleet = new RelayFleet({
    config: scenario.config,
    schema: env.schema,
    roleUrl: env.role.url,
    admin: env.admin,
    broker: env.broker,
    history,
    runTag: env.runTag,
    wrapRealPublisher: options.wrapRealPublisher,
  })
  const writers = new WriterChains()
  let report: CheckReport | undefined
  try {
    await fleet.start()
    const driver = new ActionDriver(env, fleet, writers, history)
    for (const action of scenario.actions) await driver.run(action)
    await writers.idle()
    fleet.refuseWhen(undefined)
    await fleet.stopAll()
    const leftovers = await drainWithCleanRelays(env, fleet, scenario.config)
    const end = await readEndState(env)
    report = checkHistory(
      history.facts({
        blockKeyOnFailure: scenario.config.blockKeyOnFailure,
        maxAttempts: scenario.config.maxAttempts,
        publishTimeoutMs: scenario.config.publishTimeoutMs,
        deliveries: end.deliveries,
        finalDead: end.finalDead,
        leftovers,
      }),
    )
    return { report, durationMs: Date.now() - started }
  } catch (error) {
    history.harnessErrors.push(`the run failed: ${(error as Error)?.stack ?? String(error)}`)
    report = checkHistory(
      history.facts({ blockKeyOnFailure: true, maxAttempts: 0, publishTimeoutMs: 0, deliveries: [], finalDead: [], leftovers: [] }),
    )
    // Only the harness problem is meaningful here: the history was cut short.
    report = { ...report, violations: report.violations.filter((v) => v.kind === 'harness' || v.kind === 'writer-error') }
    return { report, durationMs: Date.now() - started }
  } finally {
    await writers.idle().catch(() => {})
    await fleet.stopAll().catch(() => {})
    const failed = (report?.violations.length ?? 1) > 0
    if (failed && options.keepOnFailure) console.warn(`[checker] schema ${env.schema} kept for inspection`)
    await env.teardown(failed && options.keepOnFailure === true)
  }
}

/** Runs actions one after another; writer transactions go to their writer's chain and are not awaited. */
class ActionDriver {
  private readonly writerContext: WriterContext
  private readonly poisons: { match: (m: OutboxMessage) => boolean; verdict: 'nack' | 'permanent'; remaining: number }[] = []

  constructor(
    private readonly env: RunEnvironment,
    private readonly fleet: RelayFleet,
    private readonly writers: WriterChains,
    private readonly history: RunHistory,
  ) {
    this.writerContext = { db: env.admin, schema: env.schema, keys: env.keys, reusedIds: env.reusedIds, history }
  }

  async run(action: Action): Promise<void> {
    const env = this.env
    switch (action.t) {
      case 'tx':
        this.writers.add(action.writer, () => runWriterTransaction(this.writerContext, action))
        return
      case 'raw':
        await insertRawRow(env, this.history, action.nullHeaders)
        return
      case 'fault':
        this.fleet.inject(action.relay, action.fault)
        return
      case 'poison': {
        const target = action.target
        const match =
          'key' in target
            ? (m: OutboxMessage) => m.key === env.keys[target.key % env.keys.length]
            : (m: OutboxMessage) => m.messageId === env.reusedIds[target.reuse % env.reusedIds.length]
        this.poisons.push({ match, verdict: action.permanent ? 'permanent' : 'nack', remaining: action.times })
        this.fleet.refuseWhen(this.refusalRule)
        return
      }
      case 'crash':
        await this.fleet.crash(action.relay, action.restart)
        return
      case 'dead-retry':
      case 'dead-purge':
        await runDeadCommand({ admin: env.admin, schema: env.schema, roleUrl: env.role.url, broker: env.broker, history: this.history }, action)
        return
      case 'pause':
        await new Promise((resolve) => setTimeout(resolve, action.ms))
        return
      case 'quiesce':
        await this.writers.idle()
        await waitUntilNoReadyRows(env, 5000)
        return
    }
  }

  /** The poisons, each refusing the next `times` messages it matches. */
  private readonly refusalRule: RefusalRule = (m) => {
    const poison = this.poisons.find((p) => p.remaining > 0 && p.match(m))
    if (!poison) return undefined
    poison.remaining -= 1
    return poison.verdict
  }
}
