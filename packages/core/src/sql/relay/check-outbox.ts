import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * check-outbox: reads nothing; fails (SchemaNotMigratedError, through runSql)
 * when the outbox table does not exist. Run by Relay.start().
 *
 * Parameters: none.
 * Returns: no rows.
 */
export function checkOutbox(names: TableNames): Statement<never> {
  return statement(names, 'check-outbox', {}, () => `SELECT 1 FROM ${names.quoted.outbox} LIMIT 0`, 'outbox')
}
