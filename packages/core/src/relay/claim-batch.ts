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
  /**
   * Set for the rest of the claim's transaction (`set_config(…, true)`, as
   * SET LOCAL): the transaction stays open while the broker has the batch,
   * and a server-wide `idle_in_transaction_session_timeout` or
   * `statement_timeout` shorter than that would kill it after the broker
   * took the batch (every message sent again, none ever settled).
   */
  readonly idleTimeoutMs: number
  readonly statementTimeoutMs: number
}

/** What one claim statement did. */
export interface ClaimResult {
  /** The rows deleted, in id order. */
  readonly rows: ClaimedRow[]
  /**
   * False when the claim read rows that another relay settled after this
   * statement's snapshot was taken (see claimBatchSql): the rows it deleted
   * may not be their keys' heads, so the caller must roll back and claim again.
   */
  readonly consistent: boolean
  /**
   * Lanes (blocking mode) where the claim passed over ready rows of keys
   * with a failed row, and up to which id (exclusive; null: the whole lane):
   * see holdBackSql, which takes them out of the claim's way.
   */
  readonly passedOver: readonly LaneRange[]
}

/** A lane's ready rows below `upto` (all of them when null). */
export interface LaneRange {
  readonly lane: number
  readonly upto: string | null
}

const statements = new Map<string, string>()

/**
 * Claims and deletes a batch in one statement, inside the transaction the
 * relay holds while it publishes.
 *
 * A recursive CTE walks the 64 lanes in an order rotated per claim. For each
 * lane with work it takes pg_try_advisory_xact_lock, skipping lanes another
 * relay holds (SKIP LOCKED, for lanes); an empty lane is not locked, so a
 * small backlog does not keep other relays from lanes that fill while this
 * batch is out. The "has work" probes are written as `ORDER BY lane, id
 * LIMIT 1` on the partial indexes: a bare EXISTS lets the planner, after an
 * ANALYZE of a large backlog, pick a sequential scan per probe (measured:
 * seconds per claim with 200k rows of one blocked key). From a lane it locked
 * it takes, in id order:
 * - its ready rows, through the partial (lane, id) index, leaving out keys
 *   that have a failed row still waiting for its retry (blocking mode); the
 *   lane's blocked keys are read once per lane (an InitPlan on the small
 *   retry index), not once per row;
 * - its failed rows whose retry is due, except (blocking mode) those of a
 *   key that also has a failed row not yet due: a key's retries follow one
 *   schedule, its oldest failure's.
 * It stops once it holds a batch, or `lanesPerClaim` lanes.
 *
 * Snapshot and lock: at READ COMMITTED the statement's snapshot is taken
 * before the walk locks a lane. If the lane's previous holder committed in
 * between (it may have put a failed head back, with a new tuple this
 * snapshot cannot see), the walk still sees that relay's old tuples: the
 * DELETE then skips them (concurrently deleted), and may take a later row
 * of the same key. The statement reports how many tuples it selected beside
 * the rows it deleted; when they differ, `consistent` is false and the relay
 * rolls back and claims again with a fresh snapshot (the lane is now free of
 * the previous holder, so the retry sees its commit). Nothing else deletes
 * or updates outbox rows under a lane lock, so a difference means exactly that.
 *
 * The DELETE finds its rows by their tuple ids (a TID scan): the walk has
 * just read those tuples, and going back through the primary key would cost
 * an index descent per row.
 *
 * Parameters: $1 rotation (0–63), $2 the lanes' advisory lock space,
 * $3 lanes per claim, $4 batch size, $5 rows per lane, $6 idle-in-transaction
 * timeout (text, e.g. '35000ms'), $7 statement timeout (text).
 * Returns one row per deleted row, each also carrying `selected` (tuples the
 * walk chose), `held_lanes` and `held_upto` (lanes where it passed over rows
 * of blocked keys, and up to which id), and `timeouts`.
 */
export function claimBatchSql(names: TableNames, blockKeyOnFailure: boolean): string {
  const cacheKey = `${names.quoted.outbox}|${blockKeyOnFailure}`
  const cached = statements.get(cacheKey)
  if (cached) return cached
  const o = names.quoted.outbox
  const failedKeys = (due: string) => `ARRAY(SELECT b.key FROM ${o} b
               WHERE b.lane = l.lane AND b.attempts > 0${due} AND b.key IS NOT NULL)`
  // Blocking mode: the lane's keys with a failed row (their ready rows wait),
  // and those with a failed row not yet due (their due failed rows wait too).
  const blocked = blockKeyOnFailure
    ? `CASE WHEN lk.locked THEN ${failedKeys('')} ELSE '{}'::text[] END AS keys,
           CASE WHEN lk.locked THEN ${failedKeys(' AND b.available_at > now()')} ELSE '{}'::text[] END AS not_due`
    : `'{}'::text[] AS keys, '{}'::text[] AS not_due`
  const readyFilter = blockKeyOnFailure ? ' AND (o.key IS NULL OR o.key <> ALL (bk.keys))' : ''
  // In blocking mode a key's failed rows share its head's schedule: all of a
  // key's due failed rows come together, in id order, once none is still
  // waiting. In non-blocking mode failed rows are unordered retries, bounded
  // like the rest.
  const dueFailed = blockKeyOnFailure
    ? `UNION ALL
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE lk.locked AND o.lane = l.lane AND o.attempts > 0 AND o.key IS NOT NULL
             -- NULL: a failed row made ready by hand ("retry now"): due. (Its key
             -- is blocked, so the ready scan leaves it to this branch.)
             AND (o.available_at <= now() OR o.available_at IS NULL)
             AND o.key <> ALL (bk.not_due))
          UNION ALL
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE lk.locked AND o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now() AND o.key IS NULL
           ORDER BY o.lane, o.available_at LIMIT l.room)`
    : `UNION ALL
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE lk.locked AND o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now()
           ORDER BY o.lane, o.available_at LIMIT l.room)`
  const text = `WITH RECURSIVE walk AS (
  SELECT 0 AS pos, 0 AS rows_seen, 0 AS lanes_locked, '{}'::tid[] AS ids,
         NULL::smallint AS lane, false AS held_back, NULL::bigint AS upto
  UNION ALL
  SELECT w.pos + 1, w.rows_seen + p.n, w.lanes_locked + lk.locked::int, p.ids,
         l.lane, cardinality(bk.keys) > 0, CASE WHEN p.n >= l.room THEN p.upto END
  FROM walk w
  CROSS JOIN LATERAL (
    -- room: what the lane may still add, the batch's remaining room capped per lane.
    SELECT ((w.pos + $1::int) % ${LANE_COUNT})::smallint AS lane, least($5::int, $4::int - w.rows_seen) AS room
  ) l
  CROSS JOIN LATERAL (
    SELECT CASE WHEN (SELECT true FROM ${o} o WHERE o.lane = l.lane AND o.available_at IS NULL ORDER BY o.lane, o.id LIMIT 1)
                  OR (SELECT true FROM ${o} o WHERE o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now()
                      ORDER BY o.lane, o.available_at LIMIT 1)
                THEN pg_try_advisory_xact_lock($2::int, l.lane) ELSE false END AS locked
    OFFSET 0 -- evaluated once: not inlined into each use of lk.locked
  ) lk
  -- OFFSET 0: computed once per lane, not once for each use.
  CROSS JOIN LATERAL (SELECT ${blocked} OFFSET 0) bk
  CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(c.ctid), '{}') AS ids, count(*)::int AS n, max(c.id) AS upto FROM (
      SELECT c.id, c.ctid FROM (
          (SELECT o.id, o.ctid FROM ${o} o
           WHERE lk.locked AND o.lane = l.lane AND o.available_at IS NULL${readyFilter}
           ORDER BY o.lane, o.id LIMIT l.room)
          ${dueFailed}
      ) c
      ORDER BY c.id LIMIT l.room
    ) c
  ) p
  WHERE w.pos < ${LANE_COUNT} AND w.rows_seen < $4::int AND w.lanes_locked < $3::int
)
-- The DELETE is the statement itself (not a data-modifying CTE): its rows go
-- straight to the client instead of through a CTE's tuple store (measured:
-- a third of the claim's time at 500 rows). What the relay needs besides
-- them rides on each row as InitPlans, computed once: on a claim that
-- deletes nothing they are not needed (see claimBatch).
DELETE FROM ${o} o WHERE o.ctid = ANY (ARRAY(SELECT unnest(ids) FROM walk))
RETURNING o.id::text AS id, o.message_id, o.topic, o.key, o.payload::text AS payload, o.headers::text AS headers,
  o.attempts, (extract(epoch FROM o.created_at) * 1000)::float8 AS created_ms,
  (extract(epoch FROM o.available_at) * 1000)::float8 AS available_ms, o.last_error,
  (SELECT sum(cardinality(w.ids))::int FROM walk w) AS selected,
  (SELECT array_agg(w.lane ORDER BY w.lane) FROM walk w WHERE w.held_back) AS held_lanes,
  (SELECT array_agg(w.upto::text ORDER BY w.lane) FROM walk w WHERE w.held_back) AS held_upto,
  (SELECT set_config('idle_in_transaction_session_timeout', $6::text, true) || set_config('statement_timeout', $7::text, true)) AS timeouts`
  statements.set(cacheKey, text)
  return text
}

/** The claim statement's parameters, in order (see claimBatchSql). */
export function claimBatchParams(names: TableNames, options: ClaimOptions, rotation: number): unknown[] {
  return [
    rotation,
    names.locks.lanes,
    options.lanesPerClaim,
    options.batchSize,
    options.perLane,
    `${options.idleTimeoutMs}ms`,
    `${options.statementTimeoutMs}ms`,
  ]
}

export async function claimBatch(trx: SqlRunner, names: TableNames, options: ClaimOptions): Promise<ClaimResult> {
  const rotation = Math.floor(Math.random() * LANE_COUNT)
  const { rows } = await runSql<RawClaimedRow & { selected: number; held_lanes: number[] | null; held_upto: (string | null)[] | null }>(
    trx,
    claimBatchSql(names, options.blockKeyOnFailure),
    claimBatchParams(names, options, rotation),
  )
  const first = rows[0]
  if (first === undefined) {
    // Nothing deleted: the statement said nothing about the lanes it locked.
    // A lane it locked and took nothing from may hold only blocked keys' rows.
    return { rows: [], consistent: true, passedOver: options.blockKeyOnFailure ? await lanesHeldBy(trx, names) : [] }
  }
  const passedOver = (first.held_lanes ?? []).map((lane, i) => ({ lane, upto: first.held_upto?.[i] ?? null }))
  // Timestamps come as epoch milliseconds: node-postgres parses a float
  // several times faster than a timestamptz, which shows at 500 rows a batch.
  // DELETE … RETURNING does not promise an order.
  rows.sort((a, b) => compareIds(a.id, b.id))
  return { rows: rows.map(toClaimedRow), consistent: rows.length === first.selected, passedOver }
}

/** The lanes this transaction holds, as whole-lane ranges. */
async function lanesHeldBy(trx: SqlRunner, names: TableNames): Promise<LaneRange[]> {
  const { rows } = await runSql<{ lane: number }>(
    trx,
    `SELECT objid::int AS lane FROM pg_locks
     WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 2 AND classid = ($1::bigint & 4294967295)::oid`,
    [names.locks.lanes],
  )
  return rows.map((r) => ({ lane: r.lane, upto: null }))
}
