import { CliError } from './cli-error.js'
import { redact } from './redact.js'

/** Most message ids one line names; `txbox dead list` shows the rest. */
const IDS_SHOWN = 20

/**
 * Prints what a `txbox dead retry|purge` did, as one outcome: the summary on
 * stdout (`done`) unless nothing was done and something went wrong, then each
 * problem as a line on stderr, and exit code 1 when there is any problem.
 */
export function reportDeadOutcome(done: { count: number; line: string }, problems: readonly string[]): void {
  if (done.count > 0 || problems.length === 0) process.stdout.write(`${done.line}\n`)
  if (problems.length === 0) return
  for (const problem of problems.slice(0, -1)) process.stderr.write(`${redact(`txbox: ${problem}`)}\n`)
  // The last one ends the command: main prints it and exits 1.
  throw new CliError(problems[problems.length - 1] as string)
}

/** `ids` for a message, distinct, at most {@link IDS_SHOWN} of them. */
export function listIds(ids: readonly string[]): string {
  const distinct = [...new Set(ids)]
  const shown = distinct.slice(0, IDS_SHOWN).join(', ')
  const more = distinct.length - IDS_SHOWN
  return more > 0 ? `${shown} and ${more} more (txbox dead list shows them)` : shown
}
