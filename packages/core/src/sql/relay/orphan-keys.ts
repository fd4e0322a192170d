import type { TableNames } from '../../schema/table-names.js'

/** Most keys one pass of the sweep looks at. */
export const SWEEP_KEYS = 1000

/** A key with held-back rows and no failed row, and its lane. */
export interface OrphanKey {
  readonly key: string
  readonly lane: number
}

/** What one pass of the sweep found: keys to release, and where the next pass starts. */
export interface OrphanScan {
  readonly orphans: readonly OrphanKey[] | null
  /** The key the next pass starts after; null when this pass reached the end. */
  readonly last: string | null
}

/**
 * orphan-keys (a subquery of promote-delayed, not a statement of its own):
 * held-back rows (see hold-back-keys.ts) are released in the transaction that
 * publishes or dead-letters their key's failed head. Should a failed row
 * leave another way (deleted or edited by hand), its key's held rows would
 * wait forever; this sweep finds such keys (release-orphan-keys.ts releases them).
 *
 * It walks the distinct keys of held rows, a loose scan of the (key, id)
 * index of held rows (one probe per key, not one per row), at most
 * {@link SWEEP_KEYS} keys per pass starting after `sweepFrom` (the
 * placeholder of the key where the last pass stopped), so a pass costs the
 * same however many keys are blocked.
 * Returns: JSON, an {@link OrphanScan}.
 */
export function orphanKeysSubquery(names: TableNames, sweepFrom: string): string {
  const o = names.quoted.outbox
  const held = `h.available_at = 'infinity' AND h.attempts = 0`
  return `(WITH RECURSIVE k AS (
    (SELECT h.key, h.lane, 1 AS n FROM ${o} h WHERE ${held} AND (${sweepFrom}::text IS NULL OR h.key > ${sweepFrom}::text) ORDER BY h.key LIMIT 1)
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
