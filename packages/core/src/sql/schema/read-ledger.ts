import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * read-ledger: what the migration ledger and the catalog say about one table set.
 *
 * Parameters:
 *   outboxTable, deadTable, inboxTable  text  the table set's names, as the ledger records them
 *   outbox, dead, inbox                 text  the tables, quoted and qualified (for to_regclass)
 * Returns: one row: `version` (the set's latest, or null), `legacy` (the latest
 * of the rows without table names, or null), and whether each table exists.
 */
export function readLedger(
  names: TableNames,
): Statement<{ version: number | null; legacy: number | null; outbox: boolean; dead: boolean; inbox: boolean }> {
  const params = {
    outboxTable: names.outboxTable,
    deadTable: names.deadTable,
    inboxTable: names.inboxTable,
    outbox: names.quoted.outbox,
    dead: names.quoted.dead,
    inbox: names.quoted.inbox,
  }
  return statement(
    names,
    'read-ledger',
    params,
    (p) => `SELECT max(version) FILTER (WHERE outbox_table = ${p.outboxTable} AND dead_table = ${p.deadTable} AND inbox_table = ${p.inboxTable}) AS version,
       max(version) FILTER (WHERE outbox_table IS NULL) AS legacy,
       to_regclass(${p.outbox}) IS NOT NULL AS outbox,
       to_regclass(${p.dead}) IS NOT NULL AS dead,
       to_regclass(${p.inbox}) IS NOT NULL AS inbox
FROM ${names.quoted.migrations}`,
  )
}
