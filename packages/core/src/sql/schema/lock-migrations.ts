import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * lock-migrations: waits for, then holds to the end of the transaction, a
 * migration lock (migrate takes the schema's, then the outbox's).
 *
 * Parameters:
 *   lockSpace  int  names.locks.migrateSchema or names.locks.migrate
 * Returns: one row, nothing in it worth reading.
 */
export function lockMigrations(names: TableNames, params: { readonly lockSpace: number }): Statement<unknown> {
  return statement(names, 'lock-migrations', params, (p) => `SELECT pg_advisory_xact_lock(${p.lockSpace}, 0)`)
}
