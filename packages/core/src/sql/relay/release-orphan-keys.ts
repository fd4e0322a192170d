import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * release-orphan-keys: makes the held-back rows of the given keys ready again
 * when their key still has no failed row. Run after lock-free-lanes, in a
 * statement of its own, so that its snapshot sees every relay's last word on
 * those lanes.
 *
 * Parameters:
 *   keys   text[]      the orphan keys (from promote-delayed's sweep)
 *   lanes  smallint[]  the lanes this transaction holds: keys elsewhere wait for a later sweep
 * Returns: one row, `{ released }`, the count.
 */
export function releaseOrphanKeys(
  names: TableNames,
  params: { readonly keys: readonly string[]; readonly lanes: readonly number[] },
): Statement<{ released: number }> {
  return statement(names, 'release-orphan-keys', params, (p) => {
    const o = names.quoted.outbox
    return `WITH released AS (
  UPDATE ${o} h SET available_at = NULL
  WHERE h.key = ANY (${p.keys}::text[]) AND h.lane = ANY (${p.lanes}::smallint[]) AND h.available_at = 'infinity' AND h.attempts = 0
    AND NOT EXISTS (SELECT 1 FROM ${o} f WHERE f.lane = h.lane AND f.attempts > 0 AND f.key = h.key)
  RETURNING 1
)
SELECT count(*)::int AS released FROM released`
  }, 'outbox')
}
