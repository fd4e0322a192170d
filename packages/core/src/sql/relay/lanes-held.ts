import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * lanes-held: the lanes of `names` whose advisory lock this session holds
 * (delete-batch's walk locks lanes; when it deletes nothing, its rows say
 * nothing about them).
 *
 * Parameters:
 *   laneLockSpace  the first key of the lanes' advisory locks (names.locks.lanes)
 * Returns: `{ lane }` per lane held.
 */
export function lanesHeld(names: TableNames, params: { readonly laneLockSpace: number }): Statement<{ lane: number }> {
  return statement(
    names,
    'lanes-held',
    params,
    (p) => `SELECT objid::int AS lane FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 2 AND classid = (${p.laneLockSpace}::bigint & 4294967295)::oid`,
  )
}
