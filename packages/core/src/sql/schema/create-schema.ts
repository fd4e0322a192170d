import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * create-schema: creates the table set's schema if it does not exist.
 *
 * Parameters: none.
 * Returns: no rows.
 */
export function createSchema(names: TableNames): Statement<never> {
  return statement(names, 'create-schema', {}, () => `CREATE SCHEMA IF NOT EXISTS ${names.quoted.schema}`)
}
