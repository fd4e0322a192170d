import type { Command } from 'commander'
import { retryDeadLetters } from '../dead-letters/retry-dead-letters.js'
import { CliError } from './cli-error.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor, tableOptionsOf } from './common-options.js'
import { withDatabase } from './database.js'
import { listIds, reportDeadOutcome } from './dead-outcome.js'
import { addSelectionOptions, deadSelection, describeSelection, type LockedDeadLetter, missingIdProblems, type SelectionFlags } from './dead-selection.js'

type DeadRetryFlags = DatabaseFlags & SelectionFlags

/**
 * `txbox dead retry`: moves dead letters back into the outbox, as new rows
 * (new sequence id, attempts 0) with the same message id, topic, key, payload
 * and headers, and deletes them from the dead letters, in one transaction.
 * A dead letter that cannot go back (its message id is in the outbox) stays,
 * and the command names it and exits 1.
 */
export function registerDeadRetryCommand(dead: Command): void {
  const command = addSelectionOptions(
    dead
      .command('retry')
      .description('move dead letters back into the outbox to be published again (same message ids)'),
    { needsYes: ' (needs --yes)', yes: 'confirm a retry by --topic or --all' },
  )
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
A retried message goes to the end of its key's queue, like a new enqueue:
messages of the same key published after it died stay published before it.

A message id is in the outbox at most once. When several dead letters share a
message id, the oldest goes back and the others stay; a dead letter whose
message id a message in the outbox has taken stays too. Those are named on
stderr and the exit code is 1: retry them once that message is published.

Examples:
  $ txbox dead retry --id 01890a5d-ac96-774b-bcce-b302099a8057
  $ txbox dead retry --topic email.welcome --yes
  $ txbox dead retry --all --yes`,
    )
    .action(async (flags: DeadRetryFlags) => {
      const selection = deadSelection('retry', flags)
      if (selection.kind !== 'ids' && !flags.yes) {
        throw new CliError(`dead retry: this re-publishes ${describeSelection(selection)}; add --yes to confirm.`, 'usage')
      }
      const names = tableNamesFor(flags)
      const { selected: locked, retried: moved } = await withDatabase(flags.databaseUrl, ({ db }) => retryDeadLetters(db, selection, tableOptionsOf(names)))
      reportDeadOutcome({ count: moved.length, line: `moved ${moved.length} dead letter(s) back into the outbox` }, [
        ...keptProblems(locked, moved),
        ...missingIdProblems(selection, locked),
      ])
    })
}

/** What to tell about the dead letters that were selected but stayed. */
function keptProblems(locked: readonly LockedDeadLetter[], moved: readonly LockedDeadLetter[]): string[] {
  const movedIds = new Set(moved.map((d) => d.id))
  const movedMessageIds = new Set(moved.map((d) => d.messageId))
  const kept = locked.filter((d) => !movedIds.has(d.id))
  const behindAnother = kept.filter((d) => movedMessageIds.has(d.messageId)).map((d) => d.messageId)
  const taken = kept.filter((d) => !movedMessageIds.has(d.messageId)).map((d) => d.messageId)
  const problems: string[] = []
  if (taken.length > 0) {
    problems.push(
      `kept ${taken.length} dead letter(s) whose message id is taken by a message in the outbox (a new message reused it); retry them once it is published: ${listIds(taken)}`,
    )
  }
  if (behindAnother.length > 0) {
    problems.push(
      `kept ${behindAnother.length} dead letter(s) whose message id another dead letter just took back into the outbox (the oldest goes first); retry them once it is published: ${listIds(behindAnother)}`,
    )
  }
  return problems
}
