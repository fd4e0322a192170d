import type { TableNames } from '../schema/table-names.js'
import { runSql, type SqlRunner } from '../sql-executor.js'
import { type OrphanKey, type OrphanScan, orphanKeysSql } from './release-orphans.js'

const statements = new Map<string, string>()

/**
 * Moves delayed messages whose time has come to the end of the ready queue,
 * with new ids: a delayed message joins its key's order when it becomes due.
 * It takes the key's advisory lock (try-lock: a key a writer holds is promoted
 * on a later pass) so that, like enqueue, its new id is in commit order.
 * Returns how many it promoted, when the next delayed message is due, and
 * the keys whose held-back rows lost their failed head (see release-orphans.ts).
 * (Held-back rows, `available_at = 'infinity'`, are not delayed messages.)
 */
export function promoteDelayedSql(names: TableNames): string {
  const cached = statements.get(names.quoted.outbox)
  if (cached) return cached
  const o = names.quoted.outbox
  const text = `WITH due AS (
  DELETE FROM ${o} WHERE message_id IN (
    SELECT message_id FROM ${o} WHERE attempts = 0 AND available_at IS NOT NULL AND available_at <= now()
    ORDER BY available_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
  ) AND (key IS NULL OR pg_try_advisory_xact_lock($2::int, hashtext(key)))
  RETURNING message_id, topic, key, payload, headers, created_at, available_at, id
), promoted AS (
  INSERT INTO ${o} (message_id, topic, key, payload, headers, created_at)
  SELECT message_id, topic, key, payload, headers, created_at FROM due ORDER BY available_at, id
  RETURNING 1
)
SELECT (SELECT count(*)::int FROM promoted) AS promoted,
       (SELECT min(available_at) FROM ${o} WHERE attempts = 0 AND available_at > now() AND available_at < 'infinity') AS next_due_at,
       ${orphanKeysSql(names)} AS orphans`
  statements.set(names.quoted.outbox, text)
  return text
}

export async function promoteDelayed(
  db: SqlRunner,
  names: TableNames,
  limit: number,
  sweepFrom: string | null,
): Promise<{ promoted: number; nextDueAt: Date | null; orphans: readonly OrphanKey[]; sweepFrom: string | null }> {
  const { rows } = await runSql<{ promoted: number; next_due_at: Date | null; orphans: OrphanScan }>(db, promoteDelayedSql(names), [
    limit,
    names.locks.keys,
    sweepFrom,
  ])
  const row = rows[0]
  return {
    promoted: row?.promoted ?? 0,
    nextDueAt: row?.next_due_at ?? null,
    orphans: row?.orphans.orphans ?? [],
    sweepFrom: row?.orphans.last ?? null,
  }
}
