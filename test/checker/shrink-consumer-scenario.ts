import type { ConsumerCheckReport } from './check-consumer-history.js'
import type { ConsumerAction, ConsumerScenario } from './consumer-scenario-model.js'
import { kindsOf, type ViolationKind } from './violations.js'

export interface ConsumerShrinkOptions {
  readonly run: (scenario: ConsumerScenario) => Promise<ConsumerCheckReport>
  /** Stop trying smaller scenarios at this time (ms since the epoch). */
  readonly deadline: number
  /** Tries per candidate (a run against real services is timing-dependent). */
  readonly attempts?: number
  readonly log?: (line: string) => void
}

/**
 * Shrinks a failing consumer scenario while it still fails with `target`:
 * drops runs of actions (halving), then fewer consumers, then messages one by
 * one, shorter pauses, then single actions again.
 */
export async function shrinkConsumerScenario(
  scenario: ConsumerScenario,
  report: ConsumerCheckReport,
  target: ViolationKind,
  options: ConsumerShrinkOptions,
): Promise<{ scenario: ConsumerScenario; report: ConsumerCheckReport; runs: number }> {
  const attempts = options.attempts ?? 2
  let best = scenario
  let bestReport = report
  let runs = 0
  const reproduces = async (candidate: ConsumerScenario): Promise<boolean> => {
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
  const accept = (candidate: ConsumerScenario) => {
    best = candidate
    options.log?.(`[checker] shrink: ${best.actions.length} action(s), still ${target} (${runs} runs)`)
  }
  const dropChunks = async () => {
    let chunk = Math.ceil(best.actions.length / 2)
    while (chunk >= 1 && Date.now() <= options.deadline) {
      let i = 0
      while (i < best.actions.length && Date.now() <= options.deadline) {
        const actions = [...best.actions.slice(0, i), ...best.actions.slice(i + chunk)]
        if (actions.length > 0 && (await reproduces({ ...best, actions }))) accept({ ...best, actions })
        else i += chunk
      }
      if (chunk === 1) return
      chunk = Math.ceil(chunk / 2)
    }
  }

  await dropChunks()
  for (let consumers = 1; consumers < best.config.consumers; consumers++) {
    const candidate = { ...best, config: { ...best.config, consumers } }
    if (await reproduces(candidate)) {
      accept(candidate)
      break
    }
  }
  for (let i = 0; i < best.actions.length; i++) {
    // Takes the first simpler action that still fails, then asks again from there.
    let progressed = true
    while (progressed && Date.now() <= options.deadline) {
      progressed = false
      for (const candidate of simplifications(best, i)) {
        if (await reproduces(candidate)) {
          accept(candidate)
          progressed = true
          break
        }
      }
    }
  }
  await dropChunks()
  return { scenario: best, report: bestReport, runs }
}

function* simplifications(s: ConsumerScenario, index: number): Generator<ConsumerScenario> {
  const action = s.actions[index] as ConsumerAction
  const replace = (next: ConsumerAction): ConsumerScenario => ({ ...s, actions: s.actions.map((a, i) => (i === index ? next : a)) })
  if (action.t === 'pause' && action.ms > 20) yield replace({ ...action, ms: Math.floor(action.ms / 2) })
  if (action.t === 'publish' && action.messages.length > 1) {
    for (let m = action.messages.length - 1; m >= 0; m--) yield replace({ ...action, messages: action.messages.filter((_, k) => k !== m) })
  }
}
