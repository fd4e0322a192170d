import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * adopt-legacy-versions: gives the table set of `names` the versions of the
 * ledger's rows without table names (written by releases that kept one
 * version per schema; the set they were written for is this one).
 *
 * Parameters: the table set's names, from `names`.
 * Returns: no rows.
 */
export function adoptLegacyVersions(names: TableNames): Statement<never> {
  return statement(
    names,
    'adopt-legacy-versions',
    { outboxTable: names.outboxTable, deadTable: names.deadTable, inboxTable: names.inboxTable },
    (p) => `INSERT INTO ${names.quoted.migrations} (version, name, applied_at, outbox_table, dead_table, inbox_table)
SELECT DISTINCT ON (version) version, name, applied_at, ${p.outboxTable}, ${p.deadTable}, ${p.inboxTable} FROM ${names.quoted.migrations}
WHERE outbox_table IS NULL ORDER BY version, applied_at
ON CONFLICT DO NOTHING`,
  )
}
