import type { TableNames } from '../schema/table-names.js'
import { LANE_COUNT } from '../schema/migrations.js'
import { runSql, type SqlRunner } from '../sql-executor.js'
import { type ClaimedRow, compareIds, type RawClaimedRow, toClaimedRow } from './claimed-row.js'

export interface ClaimOptions {
  readonly batchSize: number
  /** Most rows taken from one lane (spreads a batch over more keys when the publisher needs waves). */
  readonly perLane: number
  readonly lanesPerClaim: number
  readonly blockKeyOnFailure: boolean
}

const statements = new Map<string, string>()

/**
 * Claims and deletes a batch in one statement, inside the transaction the
 * relay holds while it publishes. The rows come back in id order.
 *
 * A recursive CTE walks the 64 lanes in an order rotated per claim. For each
 * lane with work (two index probes) it takes pg_try_advisory_xact_lock,
 * skipping lanes another relay holds (SKIP LOCKED, for lanes); an empty lane
 * is not locked, so a small backlog does not keep other relays from lanes
 * that fill while this batch is out. From a lane it locked it takes, in id order:
 * - its ready rows, through the partial (lane, id) index, leaving out keys
 *   whose failed head still waits for its retry (blocking mode);
 * - its failed rows whose retry is due.
 * (`ORDER BY o.lane, o.id` rather than `o.id`: only the (lane, id) index
 * yields that order, so the planner cannot switch, after an ANALYZE, to
 * walking the primary key and filtering on the lane: that plan was measured
 * discarding a quarter of a million rows per lane at a 1M backlog.)
 * It stops once it holds a batch, or `lanesPerClaim` lanes, so the lanes it
 * does not need stay free for other relays. Every step reads at most what it
 * takes: the cost follows the batch, not the backlog. One pass per lane: the
 * lane scans of a claim are what a long-running transaction elsewhere (which
 * keeps VACUUM from removing deleted rows) makes expensive.
 *
 * The DELETE finds its rows by their tuple ids (`ctid = ANY (ARRAY(...))`, a
 * TID scan): the walk has just read those tuples, and going back through the
 * primary key would cost an index descent per row (measured: most of the
 * claim's time at 200k rows); a join would let the planner hash the whole
 * table. The ctids are stable within the statement: nothing updates outbox
 * rows, and VACUUM cannot reclaim tuples this statement's snapshot sees.
 *
 * Rows are not locked with SKIP LOCKED: a skipped row of a key would let that
 * key's next message overtake it. The lane lock is what keeps relays apart.
 */
export function claimBatchSql(names: TableNames, blockKeyOnFailure: boolean): string {
  const cacheKey = `${names.quoted.outbox}|${blockKeyOnFailure}`
  const cached = statements.get(cacheKey)
  if (cached) return cached
  const o = names.quoted.outbox
  // What a lane may still add: the batch's remaining room, capped per lane.
  const room = 'least($5::int, $4::int - w.rows_seen)'
  const notBlocked = blockKeyOnFailure
    ? `
             AND (o.key IS NULL OR o.key NOT IN (
               SELECT b.key FROM ${o} b
               WHERE b.lane = l.lane AND b.attempts > 0 AND b.available_at > now() AND b.key IS NOT NULL))`
    : ''
  // In blocking mode a key has at most one failed row (its head), and that row
  // must come with the key's later rows: take every due failed keyed row. In
  // non-blocking mode failed rows are unordered retries, bounded like the rest.
  const dueFailed = blockKeyOnFailure
    ? `UNION ALL
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now() AND o.key IS NOT NULL)
          UNION ALL
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now() AND o.key IS NULL
           ORDER BY o.available_at LIMIT ${room})`
    : `UNION ALL
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now()
           ORDER BY o.available_at LIMIT ${room})`
  const text = `WITH RECURSIVE walk AS (
  SELECT 0 AS pos, false AS locked, 0 AS rows_seen, 0 AS lanes_locked, '{}'::tid[] AS ids
  UNION ALL
  SELECT w.pos + 1, lk.locked, w.rows_seen + cardinality(p.ids), w.lanes_locked + lk.locked::int, p.ids
  FROM walk w
  CROSS JOIN LATERAL (SELECT ((w.pos + $1::int) % ${LANE_COUNT})::smallint AS lane) l
  CROSS JOIN LATERAL (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM ${o} o WHERE o.lane = l.lane AND o.available_at IS NULL)
                  OR EXISTS (SELECT 1 FROM ${o} o WHERE o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now())
                THEN pg_try_advisory_xact_lock($2::int, l.lane) ELSE false END AS locked
  ) lk
  CROSS JOIN LATERAL (
    SELECT CASE WHEN lk.locked THEN ARRAY(
      SELECT c.ctid FROM (
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE o.lane = l.lane AND o.available_at IS NULL${notBlocked}
           ORDER BY o.lane, o.id LIMIT ${room})
          ${dueFailed}
      ) c
      ORDER BY c.id LIMIT ${room}
    ) ELSE '{}'::tid[] END AS ids
  ) p
  WHERE w.pos < ${LANE_COUNT} AND w.rows_seen < $4::int AND w.lanes_locked < $3::int
)
DELETE FROM ${o} o WHERE o.ctid = ANY (ARRAY(SELECT unnest(ids) FROM walk))
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
    options.perLane,
  ])
  // Timestamps come as epoch milliseconds: node-postgres parses a float
  // several times faster than a timestamptz, which shows at 500 rows a batch.
  // DELETE … RETURNING does not promise an order.
  rows.sort((a, b) => compareIds(a.id, b.id))
  return rows.map(toClaimedRow)
}
