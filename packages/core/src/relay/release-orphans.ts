import type { Kysely } from 'kysely'
import type { TableNames } from '../schema/table-names.js'
import { runSql } from '../sql-executor.js'

const statements = new Map<string, string>()

/** A key with held-back rows and no failed row, and its lane. */
export interface OrphanKey {
  readonly key: string
  readonly lane: number
}

/**
 * Held-back rows (see hold-back.ts) are released in the transaction that
 * publishes or dead-letters their key's failed head. Should a failed row
 * leave another way (deleted or edited by hand), its key's held rows would
 * wait forever; this sweep, run with the promotion of delayed messages,
 * releases them.
 *
 * This query (a subquery of the promotion statement, so the sweep costs no
 * round trip of its own) walks the distinct keys of held rows, a loose scan
 * of the (key, id) index of held rows (one probe per key, not one per row),
 * at most {@link SWEEP_KEYS} keys per pass starting after `$3` (the key
 * where the last pass stopped; null: from the start), so a pass costs the
 * same however many keys are blocked. Returns JSON
 * `{ orphans: [{ key, lane }] | null, last: key | null }`: `last` is where
 * the next pass starts (null when this one reached the end).
 */
export function orphanKeysSql(names: TableNames): string {
  const o = names.quoted.outbox
  const held = `h.available_at = 'infinity' AND h.attempts = 0`
  return `(WITH RECURSIVE k AS (
    (SELECT h.key, h.lane, 1 AS n FROM ${o} h WHERE ${held} AND ($3::text IS NULL OR h.key > $3::text) ORDER BY h.key LIMIT 1)
    UNION ALL
    SELECT nx.key, nx.lane, k.n + 1 FROM k CROSS JOIN LATERAL (
      SELECT h.key, h.lane FROM ${o} h WHERE ${held} AND h.key > k.key ORDER BY h.key LIMIT 1
    ) nx
    WHERE k.n < ${SWEEP_KEYS}
  )
  SELECT json_build_object(
    'orphans', (SELECT json_agg(json_build_object('key', k.key, 'lane', k.lane)) FROM k
                WHERE NOT EXISTS (SELECT 1 FROM ${o} f WHERE f.lane = k.lane AND f.attempts > 0 AND f.key = k.key)),
    'last', (SELECT k.key FROM k WHERE k.n = ${SWEEP_KEYS}))
)`
}

/** Most keys one pass of the sweep looks at. */
const SWEEP_KEYS = 1000

/** What one pass of the sweep found: keys to release, and where the next pass starts. */
export interface OrphanScan {
  readonly orphans: readonly OrphanKey[] | null
  readonly last: string | null
}

/**
 * Releases the held rows of those keys that still have no failed row, after
 * locking their lanes (in a statement of its own, so that the release's
 * snapshot sees every relay's last word on them; a lane another relay holds
 * is left for the next sweep). Parameters: $1 keys (text[]), $2 lanes
 * (smallint[]). Returns the count.
 */
function releaseSql(names: TableNames): string {
  const cached = statements.get(names.quoted.outbox)
  if (cached) return cached
  const o = names.quoted.outbox
  const text = `WITH released AS (
  UPDATE ${o} h SET available_at = NULL
  WHERE h.key = ANY ($1::text[]) AND h.lane = ANY ($2::smallint[]) AND h.available_at = 'infinity' AND h.attempts = 0
    AND NOT EXISTS (SELECT 1 FROM ${o} f WHERE f.lane = h.lane AND f.attempts > 0 AND f.key = h.key)
  RETURNING 1
)
SELECT count(*)::int AS released FROM released`
  statements.set(names.quoted.outbox, text)
  return text
}

/** Releases the held-back rows of `orphans` whose key has no failed row left; returns how many. */
export async function releaseOrphans(db: Kysely<any>, names: TableNames, orphans: readonly OrphanKey[]): Promise<number> {
  if (orphans.length === 0) return 0
  return db
    .transaction()
    .setIsolationLevel('read committed')
    .execute(async (trx) => {
      const lanes = [...new Set(orphans.map((r) => r.lane))]
      const { rows: locked } = await runSql<{ lane: number }>(
        trx,
        'SELECT lane FROM unnest($1::smallint[]) AS l(lane) WHERE pg_try_advisory_xact_lock($2::int, lane)',
        [lanes, names.locks.lanes],
      )
      if (locked.length === 0) return 0
      const { rows } = await runSql<{ released: number }>(trx, releaseSql(names), [orphans.map((r) => r.key), locked.map((r) => r.lane)])
      return rows[0]?.released ?? 0
    })
}
