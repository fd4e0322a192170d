import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * lock-free-lanes: try-locks the given lanes for the rest of the transaction
 * (as delete-batch does), skipping those another relay holds.
 *
 * Parameters:
 *   lanes          smallint[]  the lanes wanted
 *   laneLockSpace  the first key of the lanes' advisory locks (names.locks.lanes)
 * Returns: `{ lane }` per lane now held.
 */
export function lockFreeLanes(names: TableNames, params: { readonly lanes: readonly number[]; readonly laneLockSpace: number }): Statement<{ lane: number }> {
  return statement(
    names,
    'lock-free-lanes',
    params,
    (p) => `SELECT lane FROM unnest(${p.lanes}::smallint[]) AS l(lane) WHERE pg_try_advisory_xact_lock(${p.laneLockSpace}::int, lane)`,
  )
}
