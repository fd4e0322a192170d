import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * record-version: records in the ledger that a migration was applied to the
 * table set of `names`.
 *
 * Parameters:
 *   version  int
 *   name     text  the migration's name
 *   (and the table set's names, from `names`)
 * Returns: no rows.
 */
export function recordVersion(names: TableNames, params: { readonly version: number; readonly name: string }): Statement<never> {
  return statement(
    names,
    'record-version',
    { ...params, outboxTable: names.outboxTable, deadTable: names.deadTable, inboxTable: names.inboxTable },
    (p) => `INSERT INTO ${names.quoted.migrations} (version, name, outbox_table, dead_table, inbox_table)
VALUES (${p.version}, ${p.name}, ${p.outboxTable}, ${p.deadTable}, ${p.inboxTable})`,
  )
}
