import type { TableNames } from '../schema/table-names.js'
import { LANE_COUNT } from '../schema/migrations.js'
import { runSql, type SqlRunner } from '../sql-executor.js'

/** A snapshot of the outbox, as {@link Relay.metrics} reports it. */
export interface OutboxStats {
  /** Messages waiting in the outbox (ready, delayed or waiting for a retry). */
  readonly backlog: number
  /**
   * Age in ms of the oldest message that is due (ready, or failed and waiting
   * for its retry), 0 when there is none. Delayed messages not yet due do not
   * count: they are not late.
   */
  readonly oldestAgeMs: number
  /** Messages in the dead letters. */
  readonly dead: number
}

export async function readOutboxStats(db: SqlRunner, names: TableNames): Promise<OutboxStats> {
  const { rows } = await runSql<{ backlog: string; oldest_age_ms: number | null; dead: string }>(
    db,
    `SELECT (SELECT count(*) FROM ${names.quoted.outbox}) AS backlog,
            (SELECT (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 FROM (
               -- the head of each lane, through the (lane, id) index, and the retrying rows
               SELECT (SELECT o.created_at FROM ${names.quoted.outbox} o
                       WHERE o.lane = l.lane AND o.available_at IS NULL ORDER BY o.lane, o.id LIMIT 1) AS created_at
               FROM generate_series(0, ${LANE_COUNT - 1}) AS l(lane)
               UNION ALL
               SELECT o.created_at FROM ${names.quoted.outbox} o WHERE o.attempts > 0
             ) heads) AS oldest_age_ms,
            (SELECT count(*) FROM ${names.quoted.dead}) AS dead`,
  )
  const row = rows[0]
  return {
    backlog: Number(row?.backlog ?? 0),
    oldestAgeMs: Math.max(0, Math.round(row?.oldest_age_ms ?? 0)),
    dead: Number(row?.dead ?? 0),
  }
}
