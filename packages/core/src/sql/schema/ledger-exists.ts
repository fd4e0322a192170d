import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * ledger-exists: whether the schema has txbox's migration ledger.
 *
 * Parameters:
 *   ledger  text  the ledger table, quoted and qualified (for to_regclass)
 * Returns: one row, `{ ledger }`, a boolean.
 */
export function ledgerExists(names: TableNames): Statement<{ ledger: boolean }> {
  return statement(names, 'ledger-exists', { ledger: names.quoted.migrations }, (p) => `SELECT to_regclass(${p.ledger}) IS NOT NULL AS ledger`)
}
