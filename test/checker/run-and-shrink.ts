import { formatFailure, formatRunLine } from './format-scenario.js'
import { type RunOptions, type RunOutcome, runScenario } from './run-scenario.js'
import type { Scenario } from './scenario-model.js'
import { shrinkScenario } from './shrink-scenario.js'
import { kindsOf, type ViolationKind } from './violations.js'

export interface CheckedSeed {
  readonly scenario: Scenario
  readonly outcome: RunOutcome
  /** The failure's first kind, when it failed. */
  readonly failedWith?: ViolationKind
  /** The smallest scenario found that still fails with `failedWith`, and its report, printed. */
  readonly reproduction?: string
}

export interface RunAndShrinkOptions extends RunOptions {
  /** Time allowed for shrinking a failure, in ms; 0 prints the failure unshrunk. */
  readonly shrinkMs: number
  /** Tries per shrink candidate (default 2). */
  readonly shrinkAttempts?: number
  /** Whether to shrink this failure (the soak shrinks each kind once). */
  readonly shouldShrink?: (kind: ViolationKind) => boolean
  readonly log: (line: string) => void
}

/** Runs a scenario; if it fails, shrinks it and prints the seed and the reproduction. */
export async function runAndShrink(scenario: Scenario, options: RunAndShrinkOptions): Promise<CheckedSeed> {
  const outcome = await runScenario(scenario, options)
  options.log(formatRunLine(scenario, outcome.report, outcome.durationMs))
  for (const note of outcome.report.notes) options.log(`  note: ${note}`)
  const failedWith = kindsOf(outcome.report.violations)[0]
  if (!failedWith) return { scenario, outcome }
  if (options.shrinkMs <= 0 || options.shouldShrink?.(failedWith) === false) {
    const reproduction = `[checker] seed ${scenario.seed} FAILED (${failedWith}), not shrunk:\n${formatFailure(scenario, outcome.report)}`
    options.log(reproduction)
    return { scenario, outcome, failedWith, reproduction }
  }
  options.log(`[checker] seed ${scenario.seed} FAILED (${kindsOf(outcome.report.violations).join(', ')}); shrinking for ${failedWith} (${Math.round(options.shrinkMs / 1000)} s at most)`)
  const started = Date.now()
  const shrunk = await shrinkScenario(scenario, outcome.report, failedWith, {
    deadline: started + options.shrinkMs,
    attempts: options.shrinkAttempts,
    run: async (candidate) => (await runScenario(candidate, options)).report,
    log: options.log,
  })
  const reproduction =
    `[checker] seed ${scenario.seed} FAILED (${failedWith}); shrunk from ${scenario.actions.length} to ${shrunk.scenario.actions.length} action(s) ` +
    `in ${shrunk.runs} run(s), ${Math.round((Date.now() - started) / 1000)} s:\n${formatFailure(shrunk.scenario, shrunk.report)}`
  options.log(reproduction)
  return { scenario, outcome, failedWith, reproduction }
}
