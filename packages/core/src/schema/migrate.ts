import type { Kysely } from 'kysely'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { requireKysely } from '../options/database-option.js'
import { resolveOptions } from '../options/resolve-options.js'
import { adoptLegacyVersions } from '../sql/schema/adopt-legacy-versions.js'
import { createSchema } from '../sql/schema/create-schema.js'
import { lockMigrations } from '../sql/schema/lock-migrations.js'
import { recordVersion } from '../sql/schema/record-version.js'
import { runSql } from '../sql/run-sql.js'
import { fixedStatement } from '../sql/statement.js'
import type { SqlRunner } from '../sql-executor.js'
import { type LedgerState, ledgerSql, readLedger } from './migration-ledger.js'
import { migrations } from './migrations.js'
import { resolveTableNames, TABLE_OPTIONS, type TableNames, type TableOptions } from './table-names.js'

/** Options of {@link migrate}: the table set to create or upgrade. */
export interface MigrateOptions extends TableOptions {}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** The version of this table set before the call (0: its tables were not there). */
  readonly from: number
  /** The version of this table set now. */
  readonly to: number
  /** Versions applied by this call (empty when already up to date). */
  readonly applied: readonly number[]
}

/**
 * Creates or upgrades txbox's tables: the table set that `options` names
 * (schema, outboxTable, deadTable, inboxTable). Each table set of a schema has
 * its own version, so a second outbox in a migrated schema gets its tables.
 * Idempotent, and safe when several processes call it at once, for one table
 * set or several: the work is done in one transaction holding an advisory lock
 * of the schema, so the second caller waits and then finds nothing to do.
 *
 * Throws InvalidOptionError when a new outbox table would share its dead-letter
 * table with another outbox (give it its own `deadTable`).
 *
 * @example
 * await migrate(db)                       // schema "txbox"
 * await migrate(db, { schema: 'events' }) // your own schema
 * await migrate(db, { schema: 'events', outboxTable: 'orders', deadTable: 'orders_dead' }) // a second outbox there
 */
export async function migrate(db: Kysely<any>, options: MigrateOptions = {}): Promise<MigrateResult> {
  requireKysely('migrate(db)', db)
  const names = resolveTableNames(resolveOptions('migrate', TABLE_OPTIONS, options))
  return db.transaction().execute(async (trx) => {
    // The schema's lock, whatever the table set: migrates of one new schema
    // race on CREATE SCHEMA / CREATE TABLE IF NOT EXISTS (a unique violation
    // in PostgreSQL's catalog) and on the shared ledger. Then the outbox's
    // lock, the one earlier releases took, to wait for one still running.
    await runSql(trx, lockMigrations(names, { lockSpace: names.locks.migrateSchema }))
    await runSql(trx, lockMigrations(names, { lockSpace: names.locks.migrate }))
    await runSql(trx, createSchema(names))
    await runSql(trx, fixedStatement(ledgerSql(names)))
    const from = await versionOf(trx, names, await readLedger(trx, names))
    const applied: number[] = []
    for (const migration of migrations) {
      if (migration.version <= from) continue
      await runSql(trx, fixedStatement(migration.sql(names)))
      await runSql(trx, recordVersion(names, { version: migration.version, name: migration.name }))
      applied.push(migration.version)
    }
    return { from, to: applied.at(-1) ?? from, applied }
  })
}

/** The table set's version, once the ledger of an earlier release is read for it. */
async function versionOf(trx: SqlRunner, names: TableNames, ledger: LedgerState): Promise<number> {
  if (ledger.version !== null) return ledger.version
  const tablesExist = ledger.outboxExists && ledger.deadExists && ledger.inboxExists
  if (ledger.legacyVersion !== null && tablesExist) {
    // An earlier release recorded versions per schema and migrated only the
    // first table set it was called with: a set whose tables all exist is that
    // one (or one made from the SQL files of that release, version 1 as well).
    await runSql(trx, adoptLegacyVersions(names))
    return ledger.legacyVersion
  }
  if (!ledger.outboxExists && ledger.deadExists) throw sharedDeadTable(names)
  // No record: from the start. Migration 1 creates only what is missing.
  return 0
}

// Dead letters keep their outbox's id (the dead table's primary key): two
// outboxes' ids collide there, and the relay's settle would then fail batch
// after batch; `dead retry` would also move them into one outbox.
function sharedDeadTable(names: TableNames): InvalidOptionError {
  const suggested = `${names.outboxTable.slice(0, 48 - '_dead'.length)}_dead`
  const own = suggested === names.deadTable ? `${names.outboxTable.slice(0, 48 - '_dead2'.length)}_dead2` : suggested
  return new InvalidOptionError(
    'deadTable',
    `migrate: the outbox table ${names.quoted.outbox} is new, but its dead-letter table ${names.quoted.dead} already exists, for another outbox. Two outboxes cannot share a dead-letter table (their ids collide there): give this one its own, e.g. migrate(db, { schema: '${names.schema}', outboxTable: '${names.outboxTable}', deadTable: '${own}'${names.inboxTable === 'inbox' ? '' : `, inboxTable: '${names.inboxTable}'`} }), and pass the same deadTable to createRelay.`,
  )
}
