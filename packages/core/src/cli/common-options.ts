import { type Command, Option } from 'commander'
import { InvalidIdentifierError } from '../errors/invalid-identifier-error.js'
import { resolveTableNames, TABLE_OPTIONS, type TableNames, type TableOptions } from '../schema/table-names.js'
import { CliError } from './cli-error.js'
import { addOptionFlags, flagName } from './option-flags.js'

/** Options every command that touches the database accepts. */
export interface DatabaseFlags extends TableOptions {
  databaseUrl?: string
}

/** Adds `--database-url` and the table flags (`--schema`, `--outbox-table`, …), generated from the table options. */
export function addDatabaseOptions(command: Command): Command {
  command.addOption(new Option('--database-url <url>', 'PostgreSQL connection URL').env('DATABASE_URL'))
  addOptionFlags(command, TABLE_OPTIONS)
  return command
}

/** The validated table names the flags give; a bad name is a usage error naming its flag. */
export function tableNamesFor(flags: DatabaseFlags): TableNames {
  try {
    return resolveTableNames(tableOptionsOf(flags))
  } catch (error) {
    if (error instanceof InvalidIdentifierError) {
      const option = Object.keys(TABLE_OPTIONS).find((name) => error.message.startsWith(`${name} `)) ?? 'schema'
      throw new CliError(`--${flagName([option])}: ${error.message}`, 'usage')
    }
    throw error
  }
}

/** The table options among `flags` (or of resolved names), for a call that takes TableOptions. */
export function tableOptionsOf(flags: TableOptions): TableOptions {
  const { schema, outboxTable, deadTable, inboxTable } = flags
  return { schema, outboxTable, deadTable, inboxTable }
}
