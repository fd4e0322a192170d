import type { Command } from 'commander'
import { runSql } from '../sql-executor.js'
import { CliError } from './cli-error.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
import { withDatabase } from './database.js'
import { deadSelection, describeSelection, missingIds, type SelectionFlags, selectionWhere } from './dead-selection.js'

type DeadPurgeFlags = DatabaseFlags & SelectionFlags

/** `txbox dead purge`: deletes dead letters for good. */
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
      const where = selectionWhere(selection, 1)
      const { rows } = await withDatabase(flags.databaseUrl, ({ db }) =>
        runSql<{ message_id: string }>(db, `DELETE FROM ${names.quoted.dead} WHERE ${where.sql} RETURNING message_id`, where.params),
      )
      process.stdout.write(`deleted ${rows.length} dead letter(s)\n`)
      const missing = missingIds(
        selection,
        rows.map((r) => r.message_id),
      )
      if (missing.length > 0) throw new CliError(`no dead letter with message id ${missing.join(', ')}`)
    })
}
