import type { TableNames } from '../schema/table-names.js'
import { LANE_COUNT } from '../schema/migrations.js'
import { runSql, type SqlRunner } from '../sql-executor.js'
import { type ClaimedRow, compareIds, type RawClaimedRow, toClaimedRow } from './claimed-row.js'

export interface ClaimOptions {
  readonly batchSize: number
  readonly lanesPerClaim: number
  readonly blockKeyOnFailure: boolean
}

const statements = new Map<string, string>()

/**
 * Claims and deletes a batch in one statement, inside the transaction the
 * relay holds while it publishes. The rows come back in id order.
 *
 * 1. Lanes: walk the lanes that have work, in an order rotated per claim,
 *    locking each with pg_try_advisory_xact_lock and skipping those another
 *    relay holds (SKIP LOCKED for lanes), until the locked lanes hold a
 *    batch (counting at most `batchSize` rows per lane) or `lanesPerClaim`
 *    lanes are locked. A recursive CTE, so that no lane is locked that the
 *    claim does not need: the rest stay free for other relays.
 * 2. Blocked keys: keys whose failed head waits for its retry (few rows, a
 *    partial index). Their later messages stay put.
 * 3. Rows: each lane's ready rows in id order through the partial (lane, id)
 *    index, plus failed rows whose retry is due, merged in id order. Every
 *    part is bounded by the batch size: the cost does not grow with the backlog.
 *
 * The DELETE finds its rows by primary key (`= ANY (ARRAY(...))`): a join
 * would let the planner hash the whole table, O(backlog).
 *
 * Rows are not locked with SKIP LOCKED: a skipped row of a key would let that
 * key's next message overtake it. The lane lock is what keeps relays apart.
 */
export function claimBatchSql(names: TableNames, blockKeyOnFailure: boolean): string {
  const cacheKey = `${names.quoted.outbox}|${blockKeyOnFailure}`
  const cached = statements.get(cacheKey)
  if (cached) return cached
  const o = names.quoted.outbox
  const blocked = blockKeyOnFailure
    ? `,
blocked AS MATERIALIZED (
  SELECT DISTINCT o.key FROM lanes JOIN ${o} o ON o.lane = lanes.lane AND o.attempts > 0
  WHERE o.available_at > now() AND o.key IS NOT NULL
)`
    : ''
  const notBlocked = blockKeyOnFailure ? ' AND (o.key IS NULL OR o.key NOT IN (SELECT key FROM blocked))' : ''
  // In blocking mode a key has at most one failed row (its head), and that row
  // must come with the key's later rows: take all due failed keyed rows. In
  // non-blocking mode failed rows are unordered retries, bounded like the rest.
  const dueFailed = blockKeyOnFailure
    ? `(SELECT o.id FROM ${o} o WHERE o.lane = lanes.lane AND o.attempts > 0 AND o.available_at <= now() AND o.key IS NOT NULL)
    UNION ALL
    (SELECT o.id FROM ${o} o WHERE o.lane = lanes.lane AND o.attempts > 0 AND o.available_at <= now() AND o.key IS NULL
     ORDER BY o.available_at LIMIT $4)`
    : `(SELECT o.id FROM ${o} o WHERE o.lane = lanes.lane AND o.attempts > 0 AND o.available_at <= now()
     ORDER BY o.available_at LIMIT $4)`
  const text = `WITH RECURSIVE candidates AS MATERIALIZED (
  SELECT row_number() OVER (ORDER BY (l.lane + $1::int) % ${LANE_COUNT}) AS pos, l.lane
  FROM generate_series(0, ${LANE_COUNT - 1}) AS l(lane)
  WHERE EXISTS (SELECT 1 FROM ${o} o WHERE o.lane = l.lane AND o.available_at IS NULL)
     OR EXISTS (SELECT 1 FROM ${o} o WHERE o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now())
),
walk AS (
  SELECT 0::bigint AS pos, -1 AS lane, false AS locked, 0::bigint AS rows_seen, 0 AS lanes_locked
  UNION ALL
  SELECT c.pos, c.lane, lk.locked,
         w.rows_seen + CASE WHEN lk.locked THEN (
           SELECT count(*) FROM (SELECT 1 FROM ${o} o WHERE o.lane = c.lane AND o.available_at IS NULL LIMIT $4) x
         ) ELSE 0 END,
         w.lanes_locked + lk.locked::int
  FROM walk w
  JOIN candidates c ON c.pos = w.pos + 1
  CROSS JOIN LATERAL (SELECT pg_try_advisory_xact_lock($2::int, c.lane) AS locked) lk
  WHERE w.rows_seen < $4 AND w.lanes_locked < $3
),
lanes AS MATERIALIZED (SELECT lane FROM walk WHERE locked)${blocked},
picked AS (
  SELECT c.id FROM lanes, LATERAL (
    (SELECT o.id FROM ${o} o WHERE o.lane = lanes.lane AND o.available_at IS NULL${notBlocked}
     ORDER BY o.id LIMIT $4)
    UNION ALL
    ${dueFailed}
  ) c
  ORDER BY c.id
  LIMIT $4
)
DELETE FROM ${o} o WHERE o.id = ANY (ARRAY(SELECT id FROM picked))
RETURNING o.id::text AS id, o.message_id, o.topic, o.key, o.payload::text AS payload, o.headers::text AS headers,
  o.attempts, (extract(epoch FROM o.created_at) * 1000)::float8 AS created_ms,
  (extract(epoch FROM o.available_at) * 1000)::float8 AS available_ms, o.last_error`
  statements.set(cacheKey, text)
  return text
}

export async function claimBatch(trx: SqlRunner, names: TableNames, options: ClaimOptions): Promise<ClaimedRow[]> {
  const rotation = Math.floor(Math.random() * LANE_COUNT)
  const { rows } = await runSql<RawClaimedRow>(trx, claimBatchSql(names, options.blockKeyOnFailure), [
    rotation,
    names.locks.lanes,
    options.lanesPerClaim,
    options.batchSize,
  ])
  // Timestamps come as epoch milliseconds: node-postgres parses a float
  // several times faster than a timestamptz, which shows at 500 rows a batch.
  // DELETE … RETURNING does not promise an order.
  rows.sort((a, b) => compareIds(a.id, b.id))
  return rows.map(toClaimedRow)
}
