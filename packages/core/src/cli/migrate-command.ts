import type { Command } from 'commander'
import { migrate } from '../schema/migrate.js'
import { migrationSql } from '../schema/migrations.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor, tableOptionsOf } from './common-options.js'
import { withDatabase } from './database.js'

interface MigrateFlags extends DatabaseFlags {
  printSql?: boolean
}

/** `txbox migrate`: creates or upgrades the tables, or prints their SQL. */
export function registerMigrateCommand(program: Command): void {
  const command = program
    .command('migrate')
    .description('create or upgrade the txbox tables (idempotent; safe to run from several processes at once)')
    .option('--print-sql', 'print the SQL instead of running it (for your own migration tool); needs no database')
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  $ DATABASE_URL=postgres://app@localhost/app txbox migrate
  $ txbox migrate --schema events
  $ txbox migrate --print-sql > migrations/001_txbox.sql`,
    )
    .action(async (flags: MigrateFlags) => {
      const names = tableNamesFor(flags)
      if (flags.printSql) {
        process.stdout.write(migrationSql(tableOptionsOf(names)))
        return
      }
      const result = await withDatabase(flags.databaseUrl, ({ db }) => migrate(db, tableOptionsOf(names)))
      if (result.applied.length === 0) process.stdout.write(`schema "${names.schema}" is up to date (version ${result.to})\n`)
      else process.stdout.write(`schema "${names.schema}" migrated from version ${result.from} to ${result.to}\n`)
    })
}
