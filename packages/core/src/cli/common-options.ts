import { type Command, Option } from 'commander'
import { InvalidIdentifierError } from '../errors/invalid-identifier-error.js'
import { resolveTableNames, type TableNames } from '../schema/table-names.js'
import { CliError } from './cli-error.js'

/** Options every command that touches the database accepts. */
export interface DatabaseFlags {
  databaseUrl?: string
  schema: string
}

/** Adds `--database-url` and `--schema`. */
export function addDatabaseOptions(command: Command): Command {
  return command
    .addOption(new Option('--database-url <url>', 'PostgreSQL connection URL').env('DATABASE_URL'))
    .option('--schema <name>', 'schema of the txbox tables', 'txbox')
}

/** The validated table names for `--schema`; a bad name is a usage error. */
export function tableNamesFor(schema: string): TableNames {
  try {
    return resolveTableNames({ schema })
  } catch (error) {
    if (error instanceof InvalidIdentifierError) throw new CliError(`--schema: ${error.message}`, 'usage')
    throw error
  }
}
