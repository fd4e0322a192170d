import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * lock-keys: waits for, then holds to the end of the transaction, the
 * advisory locks enqueue takes on these keys (same lock space, same hash
 * order as insert-messages), so that ids drawn after it are in commit order.
 *
 * Parameters:
 *   keyLockSpace  int     names.locks.keys
 *   keys          text[]  distinct, non-null
 * Returns: one row, nothing in it worth reading.
 */
export function lockKeys(names: TableNames, params: { readonly keyLockSpace: number; readonly keys: readonly string[] }): Statement<unknown> {
  return statement(
    names,
    'lock-keys',
    params,
    (p) => `SELECT count(pg_advisory_xact_lock(${p.keyLockSpace}::int, k.h))
FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(${p.keys}::text[]) AS k ORDER BY 1) AS k`,
  )
}
