import type { TableNames } from '../../schema/table-names.js'
import { LANE_COUNT } from '../../schema/migrations.js'
import { type Statement, statement } from '../statement.js'
import type { OutboxRow } from './outbox-row.js'

/**
 * delete-batch (the relay's claim): takes a batch of the outbox and DELETES it, in one statement,
 * inside the transaction the relay holds while it publishes. The rows are
 * gone for good only when that transaction commits (after the broker
 * confirmed them); a rollback, or a relay that dies, puts them all back.
 *
 * Parameters:
 *   rotation          the lane the walk starts at (0–63), random per claim
 *   laneLockSpace     the first key of the lanes' advisory locks (names.locks.lanes)
 *   lanesPerClaim     most lanes the walk locks
 *   batchSize         most rows taken
 *   perLane           most rows taken from one lane
 *   idleTimeout       idle_in_transaction_session_timeout for the rest of the
 *                     transaction, as text ('35000ms'); see relay-cycle.ts
 *   statementTimeout  statement_timeout for the rest of the transaction, as text
 * Variant: `blocking` (blockKeyOnFailure): leaves out the rows of keys with a
 * failed row.
 * Returns: one {@link DeletedRow} per deleted row, in no particular order.
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
 * of the same key. Each row reports how many tuples the walk selected
 * (`selected`); when fewer rows were deleted, the take is stale and the
 * relay rolls back and takes again with a fresh snapshot (the lane is now
 * free of the previous holder, so the retry sees its commit). Nothing else
 * deletes or updates outbox rows under a lane lock, so a difference means
 * exactly that.
 *
 * The DELETE finds its rows by their tuple ids (a TID scan): the walk has
 * just read those tuples, and going back through the primary key would cost
 * an index descent per row.
 */
export function deleteBatch(names: TableNames, blocking: boolean, params: DeleteBatchParams): Statement<DeletedRow> {
  return statement(names, blocking ? 'delete-batch|blocking' : 'delete-batch', params, (p) => {
    const o = names.quoted.outbox
    const failedKeys = (due: string) => `ARRAY(SELECT b.key FROM ${o} b
                 WHERE b.lane = l.lane AND b.attempts > 0${due} AND b.key IS NOT NULL)`
    // Blocking mode: the lane's keys with a failed row (their ready rows wait),
    // and those with a failed row not yet due (their due failed rows wait too).
    const blocked = blocking
      ? `CASE WHEN lk.locked THEN ${failedKeys('')} ELSE '{}'::text[] END AS keys,
             CASE WHEN lk.locked THEN ${failedKeys(' AND b.available_at > now()')} ELSE '{}'::text[] END AS not_due`
      : `'{}'::text[] AS keys, '{}'::text[] AS not_due`
    const readyFilter = blocking ? ' AND (o.key IS NULL OR o.key <> ALL (bk.keys))' : ''
    // In blocking mode a key's failed rows share its head's schedule: all of a
    // key's due failed rows come together, in id order, once none is still
    // waiting. In non-blocking mode failed rows are unordered retries, bounded
    // like the rest.
    const dueFailed = blocking
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
    return `WITH RECURSIVE walk AS (
    SELECT 0 AS pos, 0 AS rows_seen, 0 AS lanes_locked, '{}'::tid[] AS ids,
           NULL::smallint AS lane, false AS held_back, NULL::bigint AS upto
    UNION ALL
    SELECT w.pos + 1, w.rows_seen + p.n, w.lanes_locked + lk.locked::int, p.ids,
           l.lane, cardinality(bk.keys) > 0, CASE WHEN p.n >= l.room THEN p.upto END
    FROM walk w
    CROSS JOIN LATERAL (
      -- room: what the lane may still add, the batch's remaining room capped per lane.
      SELECT ((w.pos + ${p.rotation}::int) % ${LANE_COUNT})::smallint AS lane, least(${p.perLane}::int, ${p.batchSize}::int - w.rows_seen) AS room
    ) l
    CROSS JOIN LATERAL (
      SELECT CASE WHEN (SELECT true FROM ${o} o WHERE o.lane = l.lane AND o.available_at IS NULL ORDER BY o.lane, o.id LIMIT 1)
                    OR (SELECT true FROM ${o} o WHERE o.lane = l.lane AND o.attempts > 0 AND o.available_at <= now()
                        ORDER BY o.lane, o.available_at LIMIT 1)
                  THEN pg_try_advisory_xact_lock(${p.laneLockSpace}::int, l.lane) ELSE false END AS locked
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
    WHERE w.pos < ${LANE_COUNT} AND w.rows_seen < ${p.batchSize}::int AND w.lanes_locked < ${p.lanesPerClaim}::int
  )
  -- The DELETE is the statement itself (not a data-modifying CTE): its rows go
  -- straight to the client instead of through a CTE's tuple store (measured:
  -- a third of the claim's time at 500 rows). What the relay needs besides
  -- them rides on each row as InitPlans, computed once: on a claim that
  -- deletes nothing they are not needed (see relay-cycle.ts).
  DELETE FROM ${o} o WHERE o.ctid = ANY (ARRAY(SELECT unnest(ids) FROM walk))
  RETURNING o.id::text AS id, o.message_id, o.topic, o.key, o.payload::text AS payload, o.headers::text AS headers,
    o.attempts, (extract(epoch FROM o.created_at) * 1000)::float8 AS created_ms,
    (extract(epoch FROM o.available_at) * 1000)::float8 AS available_ms, o.last_error,
    (SELECT sum(cardinality(w.ids))::int FROM walk w) AS selected,
    (SELECT array_agg(w.lane ORDER BY w.lane) FROM walk w WHERE w.held_back) AS held_lanes,
    (SELECT array_agg(w.upto::text ORDER BY w.lane) FROM walk w WHERE w.held_back) AS held_upto,
    (SELECT set_config('idle_in_transaction_session_timeout', ${p.idleTimeout}::text, true) || set_config('statement_timeout', ${p.statementTimeout}::text, true)) AS timeouts`
  }, 'outbox')
}

export interface DeleteBatchParams {
  readonly rotation: number
  readonly laneLockSpace: number
  readonly lanesPerClaim: number
  readonly batchSize: number
  readonly perLane: number
  readonly idleTimeout: string
  readonly statementTimeout: string
}

/** A deleted row, and what the walk says about the whole take (the same on every row). */
export interface DeletedRow extends OutboxRow {
  /** Tuples the walk chose: more than the rows deleted means a stale take. */
  readonly selected: number
  /** Lanes where the walk passed over ready rows of blocked keys (see hold-back-keys.ts)… */
  readonly held_lanes: number[] | null
  /** …and up to which id (exclusive; null: the whole lane), paired by position. */
  readonly held_upto: (string | null)[] | null
}
