import type { Command } from 'commander'
import { purgeDeadLetters } from '../dead-letters/purge-dead-letters.js'
import { CliError } from './cli-error.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor, tableOptionsOf } from './common-options.js'
import { withDatabase } from './database.js'
import { reportDeadOutcome } from './dead-outcome.js'
import { addSelectionOptions, deadSelection, describeSelection, missingIdProblems, type SelectionFlags } from './dead-selection.js'

type DeadPurgeFlags = DatabaseFlags & SelectionFlags

/** `txbox dead purge`: deletes dead letters for good (the ones `dead retry` would select). */
export function registerDeadPurgeCommand(dead: Command): void {
  const command = addSelectionOptions(
    dead
      .command('purge')
      .description('delete dead letters for good (needs --yes)'),
    { needsYes: '', yes: 'confirm the deletion' },
  )
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  $ txbox dead purge --id 01890a5d-ac96-774b-bcce-b302099a8057 --yes
  $ txbox dead purge --topic email.welcome --yes
  $ txbox dead purge --all --yes`,
    )
    .action(async (flags: DeadPurgeFlags) => {
      const selection = deadSelection('purge', flags)
      if (!flags.yes) throw new CliError(`dead purge: this deletes ${describeSelection(selection)} for good; add --yes to confirm.`, 'usage')
      const names = tableNamesFor(flags)
      const deleted = await withDatabase(flags.databaseUrl, ({ db }) => purgeDeadLetters(db, selection, tableOptionsOf(names)))
      reportDeadOutcome({ count: deleted.length, line: `deleted ${deleted.length} dead letter(s)` }, missingIdProblems(selection, deleted))
    })
}
