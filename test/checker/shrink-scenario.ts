import type { CheckReport } from './check-history.js'
import { excludeFeatures } from './scenario-features.js'
import type { Action, Scenario, WriterStep } from './scenario-model.js'
import { kindsOf, type ViolationKind } from './violations.js'

export interface ShrinkOptions {
  /** Runs a scenario against the real services. */
  readonly run: (scenario: Scenario) => Promise<CheckReport>
  /** Stop trying smaller scenarios at this time (ms since the epoch). */
  readonly deadline: number
  /**
   * Tries per candidate: a run against real services is timing-dependent,
   * so a smaller scenario that fails once in two tries still reproduces.
   */
  readonly attempts?: number
  readonly log?: (line: string) => void
}

export interface ShrinkResult {
  readonly scenario: Scenario
  /** The report of the last run that reproduced the failure on `scenario`. */
  readonly report: CheckReport
  readonly runs: number
}

/**
 * Shrinks a failing scenario while it still fails with `target`: first drops
 * runs of actions (halving the run length, as delta debugging does), then
 * simplifies the configuration (fewer relays, concurrency 1, server
 * defaults), then each action (no savepoints, no hold, shorter pauses), then
 * drops single actions again. Keeps the failure's kind, so a reproduction
 * does not drift to another failure.
 */
export async function shrinkScenario(scenario: Scenario, report: CheckReport, target: ViolationKind, options: ShrinkOptions): Promise<ShrinkResult> {
  const attempts = options.attempts ?? 2
  let best = scenario
  let bestReport = report
  let runs = 0
  const reproduces = async (candidate: Scenario): Promise<boolean> => {
    for (let i = 0; i < attempts; i++) {
      if (Date.now() > options.deadline) return false
      runs += 1
      const result = await options.run(candidate)
      if (kindsOf(result.violations).includes(target)) {
        bestReport = result
        return true
      }
    }
    return false
  }
  /** Takes the first candidate that still fails, then asks again from there, until none does. */
  const tryAll = async (candidates: (from: Scenario) => Iterable<Scenario>) => {
    let progressed = true
    while (progressed && Date.now() <= options.deadline) {
      progressed = false
      for (const candidate of candidates(best)) {
        if (Date.now() > options.deadline) return
        if (await reproduces(candidate)) {
          best = candidate
          progressed = true
          options.log?.(`[checker] shrink: ${best.actions.length} action(s), still ${target} (${runs} runs)`)
          break
        }
      }
    }
  }

  await dropChunks()
  await tryAll(configSimplifications)
  for (let i = 0; i < best.actions.length; i++) {
    const index = i
    await tryAll((from) => actionSimplifications(from, index))
  }
  await dropChunks()
  return { scenario: best, report: bestReport, runs }

  async function dropChunks(): Promise<void> {
    let chunk = Math.ceil(best.actions.length / 2)
    while (chunk >= 1 && Date.now() <= options.deadline) {
      let i = 0
      while (i < best.actions.length && Date.now() <= options.deadline) {
        const actions = [...best.actions.slice(0, i), ...best.actions.slice(i + chunk)]
        if (actions.length > 0 && (await reproduces({ ...best, actions }))) {
          best = { ...best, actions }
          options.log?.(`[checker] shrink: ${best.actions.length} action(s), still ${target} (${runs} runs)`)
        } else {
          i += chunk
        }
      }
      if (chunk === 1) return
      chunk = Math.ceil(chunk / 2)
    }
  }
}

function* configSimplifications(s: Scenario): Generator<Scenario> {
  const c = s.config
  if (c.relays.length > 1) yield { ...s, config: { ...c, relays: [c.relays[0] as number] } }
  if (s.config.relays.some((n) => n > 1)) yield { ...s, config: { ...s.config, relays: s.config.relays.map(() => 1) } }
  if (c.settings.serializable) yield { ...s, config: { ...c, settings: { ...c.settings, serializable: false } } }
  if (c.settings.idleInTransactionMs !== null) yield { ...s, config: { ...c, settings: { ...c.settings, idleInTransactionMs: null } } }
  if (c.settings.statementTimeoutMs !== null) yield { ...s, config: { ...c, settings: { ...c.settings, statementTimeoutMs: null } } }
  if (c.oddInputs) yield excludeFeatures(s, ['odd-inputs'])
  if (c.batchSize > 1) yield { ...s, config: { ...c, batchSize: 1 } }
}

function* actionSimplifications(s: Scenario, index: number): Generator<Scenario> {
  const action = s.actions[index] as Action
  const replace = (next: Action): Scenario => ({ ...s, actions: s.actions.map((a, i) => (i === index ? next : a)) })
  if (action.t === 'pause' && action.ms > 20) yield replace({ ...action, ms: Math.floor(action.ms / 2) })
  if (action.t !== 'tx') return
  if (action.holdMs > 0) yield replace({ ...action, holdMs: 0 })
  if (action.rollback) yield replace({ ...action, rollback: false })
  for (let i = 0; i < action.steps.length; i++) {
    if (action.steps.length > 1) yield replace({ ...action, steps: action.steps.filter((_, j) => j !== i) })
    const step = action.steps[i] as WriterStep
    // A savepoint that was released adds nothing but its steps.
    if (step.s === 'savepoint' && !step.rollback) yield replace({ ...action, steps: [...action.steps.slice(0, i), ...step.steps, ...action.steps.slice(i + 1)] })
    if (step.s === 'enqueue' && step.messages.length > 1) {
      for (let m = 0; m < step.messages.length; m++) {
        yield replace({ ...action, steps: action.steps.map((st, j) => (j === i ? { ...step, messages: step.messages.filter((_, k) => k !== m) } : st)) })
      }
    }
  }
}
