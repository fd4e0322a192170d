import type { ConsumerScenario } from './consumer-scenario-model.js'
import { formatConsumerFailure, formatConsumerRunLine } from './format-consumer-scenario.js'
import { type ConsumerRunOutcome, runConsumerScenario } from './run-consumer-scenario.js'
import { shrinkConsumerScenario } from './shrink-consumer-scenario.js'
import { kindsOf, type ViolationKind } from './violations.js'

export interface CheckedConsumerSeed {
  readonly scenario: ConsumerScenario
  readonly outcome: ConsumerRunOutcome
  readonly failedWith?: ViolationKind
  readonly reproduction?: string
}

export interface ConsumerRunAndShrinkOptions {
  /** Time allowed for shrinking a failure, in ms; 0 prints the failure unshrunk. */
  readonly shrinkMs: number
  readonly shrinkAttempts?: number
  /** Whether to shrink this failure (the soak shrinks each kind once). */
  readonly shouldShrink?: (kind: ViolationKind) => boolean
  readonly log: (line: string) => void
}

/** Runs a consumer scenario; if it fails, shrinks it and prints the seed and the reproduction. */
export async function runAndShrinkConsumer(scenario: ConsumerScenario, options: ConsumerRunAndShrinkOptions): Promise<CheckedConsumerSeed> {
  const outcome = await runConsumerScenario(scenario)
  options.log(formatConsumerRunLine(scenario, outcome.report, outcome.durationMs))
  for (const note of outcome.report.notes) options.log(`  note: ${note}`)
  const failedWith = kindsOf(outcome.report.violations)[0]
  if (!failedWith) return { scenario, outcome }
  if (options.shrinkMs <= 0 || options.shouldShrink?.(failedWith) === false) {
    const reproduction = `[checker] consumers seed ${scenario.seed} FAILED (${failedWith}), not shrunk:\n${formatConsumerFailure(scenario, outcome.report, outcome.log)}`
    options.log(reproduction)
    return { scenario, outcome, failedWith, reproduction }
  }
  options.log(`[checker] consumers seed ${scenario.seed} FAILED (${kindsOf(outcome.report.violations).join(', ')}); shrinking for ${failedWith} (${Math.round(options.shrinkMs / 1000)} s at most)`)
  const started = Date.now()
  let lastLog = outcome.log
  const shrunk = await shrinkConsumerScenario(scenario, outcome.report, failedWith, {
    deadline: started + options.shrinkMs,
    attempts: options.shrinkAttempts,
    run: async (candidate) => {
      const result = await runConsumerScenario(candidate)
      if (kindsOf(result.report.violations).includes(failedWith)) lastLog = result.log
      return result.report
    },
    log: options.log,
  })
  const reproduction =
    `[checker] consumers seed ${scenario.seed} FAILED (${failedWith}); shrunk from ${scenario.actions.length} to ${shrunk.scenario.actions.length} action(s) ` +
    `in ${shrunk.runs} run(s), ${Math.round((Date.now() - started) / 1000)} s:\n${formatConsumerFailure(shrunk.scenario, shrunk.report, lastLog)}`
  options.log(reproduction)
  return { scenario, outcome, failedWith, reproduction }
}
