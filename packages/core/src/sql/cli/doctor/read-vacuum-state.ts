import type { TableNames } from '../../../schema/table-names.js'
import { type Statement, statement } from '../../statement.js'

/**
 * read-vacuum-state: the server's autovacuum settings and the outbox table's
 * own, with its live and dead rows and last vacuum. `txbox doctor`.
 *
 * Parameters:
 *   outbox  text  the outbox table, quoted and qualified (for to_regclass)
 * Returns: one {@link VacuumState} row, none when the table does not exist.
 */
export function readVacuumState(names: TableNames): Statement<VacuumState> {
  return statement(
    names,
    'doctor|read-vacuum-state',
    { outbox: names.quoted.outbox },
    (p) => `SELECT current_setting('autovacuum') AS autovacuum, current_setting('track_counts') AS track_counts,
       c.reloptions, s.n_live_tup, s.n_dead_tup, greatest(s.last_autovacuum, s.last_vacuum) AS last_vacuum_at
FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.oid = to_regclass(${p.outbox})`,
  )
}

export interface VacuumState {
  autovacuum: string
  track_counts: string
  reloptions: string[] | null
  n_live_tup: string | null
  n_dead_tup: string | null
  last_vacuum_at: Date | null
}
