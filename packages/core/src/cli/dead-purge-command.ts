import type { Command } from 'commander'
import { deleteDeadLetters } from '../sql/cli/delete-dead-letters.js'
import { runSql } from '../sql/run-sql.js'
import { CliError } from './cli-error.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
import { withDatabase } from './database.js'
import { reportDeadOutcome } from './dead-outcome.js'
import { deadSelection, describeSelection, inDeadLetterTransaction, lockDeadLetters, missingIdProblems, type SelectionFlags } from './dead-selection.js'

type DeadPurgeFlags = DatabaseFlags & SelectionFlags

/** `txbox dead purge`: deletes dead letters for good (the ones `dead retry` would select). */
export function registerDeadPurgeCommand(dead: Command): void {
  const command = dead
    .command('purge')
    .description('delete dead letters for good (needs --yes)')
    .option('--id <messageId...>', 'the dead letters with these message ids')
    .option('--topic <topic>', 'every dead letter of this topic')
    .option('--all', 'every dead letter')
    .option('--yes', 'confirm the deletion')
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
      const names = tableNamesFor(flags.schema)
      const deleted = await withDatabase(flags.databaseUrl, ({ db }) =>
        inDeadLetterTransaction(db, async (trx) => {
          const locked = await lockDeadLetters(trx, names, selection)
          if (locked.length > 0) await runSql(trx, deleteDeadLetters(names, { ids: locked.map((d) => d.id) }))
          return locked
        }),
      )
      reportDeadOutcome({ count: deleted.length, line: `deleted ${deleted.length} dead letter(s)` }, missingIdProblems(selection, deleted))
    })
}
