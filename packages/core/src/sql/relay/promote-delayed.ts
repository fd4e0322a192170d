import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'
import { type OrphanScan, orphanKeysSubquery } from './orphan-keys.js'

/**
 * promote-delayed: moves delayed messages whose time has come to the end of
 * the ready queue, with new ids: a delayed message joins its key's order when
 * it becomes due. It takes the key's advisory lock (try-lock: a key a writer
 * holds is promoted on a later pass) so that, like enqueue, its new id is in
 * commit order. (Held-back rows, `available_at = 'infinity'`, are not delayed
 * messages.) It also runs one pass of the orphan sweep (see orphan-keys.ts),
 * so that the sweep costs no round trip of its own.
 *
 * Parameters:
 *   limit         most messages promoted
 *   keyLockSpace  the first key of the writers' key locks (names.locks.keys)
 *   sweepFrom     the key the sweep's last pass stopped at (null: from the start)
 * Returns: one row: `promoted` (count), `next_due_at` (the next delayed
 * message's time, or null), `orphans` (an {@link OrphanScan}).
 */
export function promoteDelayed(
  names: TableNames,
  params: { readonly limit: number; readonly keyLockSpace: number; readonly sweepFrom: string | null },
): Statement<{ promoted: number; next_due_at: Date | null; orphans: OrphanScan }> {
  return statement(names, 'promote-delayed', params, (p) => {
    const o = names.quoted.outbox
    return `WITH due AS (
  DELETE FROM ${o} WHERE message_id IN (
    SELECT message_id FROM ${o} WHERE attempts = 0 AND available_at IS NOT NULL AND available_at <= now()
    ORDER BY available_at, id LIMIT ${p.limit} FOR UPDATE SKIP LOCKED
  ) AND (key IS NULL OR pg_try_advisory_xact_lock(${p.keyLockSpace}::int, hashtext(key)))
  RETURNING message_id, topic, key, payload, headers, created_at, available_at, id
), promoted AS (
  INSERT INTO ${o} (message_id, topic, key, payload, headers, created_at)
  SELECT message_id, topic, key, payload, headers, created_at FROM due ORDER BY available_at, id
  RETURNING 1
)
SELECT (SELECT count(*)::int FROM promoted) AS promoted,
       (SELECT min(available_at) FROM ${o} WHERE attempts = 0 AND available_at > now() AND available_at < 'infinity') AS next_due_at,
       ${orphanKeysSubquery(names, p.sweepFrom)} AS orphans`
  }, 'outbox')
}
