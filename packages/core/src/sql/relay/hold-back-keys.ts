import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * hold-back-keys: in one statement, in the relay's transaction after its take,
 * - releases (makes ready again) the held-back rows of the given keys that
 *   no longer have a failed row: the key's head was published or went dead
 *   in this batch. Through the (key, id) index of held rows.
 * - holds back the ready rows of keys with a failed row in the given lanes,
 *   below each lane's bound: the rows the take just passed over. Never a
 *   failed row itself (one made ready by hand is due, not held).
 *
 * Parameters:
 *   release  text[]      keys whose held-back rows may be released
 *   lanes    smallint[]  lanes the take passed over rows of blocked keys in
 *   upto     bigint[]    each lane's bound (exclusive; null: the whole lane)
 * Returns: `{ released, held }`, the counts.
 *
 * What "held back" means: a ready message of a key whose head failed gets
 * `available_at = 'infinity'` (with `attempts = 0`, which no delayed message
 * ever reaches), which takes it out of the take's (lane, id) index. Without
 * that, every take of the lane walked past the key's whole backlog to reach
 * the rows it may take (measured: 2.5–3.3 s per claim behind 200k rows of
 * one blocked key); held back, each row is passed over at most once, and a
 * take costs O(batch) again. The invariant, kept under the lane's lock: a
 * key has held-back rows only while it has a failed row (attempts > 0).
 */
export function holdBackKeys(names: TableNames, params: HoldBackParams): Statement<{ released: number; held: number }> {
  return statement(names, 'hold-back-keys', params, (p) => {
    const o = names.quoted.outbox
    return `WITH released AS (
  UPDATE ${o} o SET available_at = NULL
  WHERE o.key = ANY (${p.release}::text[]) AND o.available_at = 'infinity' AND o.attempts = 0
    AND NOT EXISTS (SELECT 1 FROM ${o} f WHERE f.lane = o.lane AND f.attempts > 0 AND f.key = o.key)
  RETURNING 1
),
held AS (
  UPDATE ${o} o SET available_at = 'infinity'
  WHERE o.ctid = ANY (ARRAY(
    SELECT r.ctid
    FROM unnest(${p.lanes}::smallint[], ${p.upto}::bigint[]) AS x(lane, upto)
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
  }, 'outbox')
}

export interface HoldBackParams {
  readonly release: readonly string[]
  readonly lanes: readonly number[]
  readonly upto: readonly (string | null)[]
}
