import type { TableNames } from '../schema/table-names.js'
import { runSql, type SqlRunner } from '../sql-executor.js'
import type { LaneRange } from './claim-batch.js'

/**
 * A ready message of a key whose head failed is "held back": `available_at`
 * is set to 'infinity' (with `attempts = 0`, which no delayed message ever
 * reaches), which takes it out of the claim's (lane, id) index. Without
 * that, every claim of the lane walked past the key's whole backlog to reach
 * the rows it may take (measured: 2.5–3.3 s per claim behind 200k rows of
 * one blocked key); held back, each row is passed over at most once, and a
 * claim costs O(batch) again.
 *
 * The invariant, kept under the lane's lock: a key has held-back rows only
 * while it has a failed row (attempts > 0). Holding back and releasing both
 * happen in the relay's claim transaction, after its claim, with a snapshot
 * taken while it holds the lanes.
 */
const statements = new Map<string, string>()

/**
 * In one statement:
 * - releases (makes ready again) the held-back rows of the given keys that
 *   no longer have a failed row: the key's head was published or went dead
 *   in this batch. Through the (key, id) index of held rows.
 * - holds back the ready rows of keys with a failed row in the given lanes,
 *   below each lane's bound: the rows the claim just passed over. Never a
 *   failed row itself (one made ready by hand is due, not held).
 *
 * Parameters: $1 keys to release (text[]), $2 lanes (smallint[]), $3 bounds
 * (bigint[], null for the whole lane), $2 and $3 paired by position.
 * Returns `released` and `held`, the counts.
 */
export function holdBackSql(names: TableNames): string {
  const cached = statements.get(names.quoted.outbox)
  if (cached) return cached
  const o = names.quoted.outbox
  const text = `WITH released AS (
  UPDATE ${o} o SET available_at = NULL
  WHERE o.key = ANY ($1::text[]) AND o.available_at = 'infinity' AND o.attempts = 0
    AND NOT EXISTS (SELECT 1 FROM ${o} f WHERE f.lane = o.lane AND f.attempts > 0 AND f.key = o.key)
  RETURNING 1
),
held AS (
  UPDATE ${o} o SET available_at = 'infinity'
  WHERE o.ctid = ANY (ARRAY(
    SELECT r.ctid
    FROM unnest($2::smallint[], $3::bigint[]) AS x(lane, upto)
    CROSS JOIN LATERAL (
      SELECT ARRAY(SELECT f.key FROM ${o} f WHERE f.lane = x.lane AND f.attempts > 0 AND f.key IS NOT NULL) AS keys
      OFFSET 0
    ) b
    CROSS JOIN LATERAL (
      SELECT h.ctid FROM ${o} h
      WHERE cardinality(b.keys) > 0 AND h.lane = x.lane AND h.available_at IS NULL AND h.attempts = 0 AND h.key = ANY (b.keys) AND (x.upto IS NULL OR h.id < x.upto)
      ORDER BY h.lane, h.id
    ) r
  ))
  RETURNING 1
)
SELECT (SELECT count(*)::int FROM released) AS released, (SELECT count(*)::int FROM held) AS held`
  statements.set(names.quoted.outbox, text)
  return text
}

export async function holdBack(
  trx: SqlRunner,
  names: TableNames,
  release: readonly string[],
  passedOver: readonly LaneRange[],
): Promise<{ released: number; held: number }> {
  if (release.length === 0 && passedOver.length === 0) return { released: 0, held: 0 }
  const { rows } = await runSql<{ released: number; held: number }>(trx, holdBackSql(names), [
    release,
    passedOver.map((p) => p.lane),
    passedOver.map((p) => p.upto),
  ])
  return { released: rows[0]?.released ?? 0, held: rows[0]?.held ?? 0 }
}
