import type { TableNames } from '../schema/table-names.js'
import { runSql, type SqlRunner } from '../sql-executor.js'

/** A snapshot of the outbox, as {@link Relay.metrics} reports it. */
export interface OutboxStats {
  /** Messages waiting in the outbox (ready, delayed or waiting for a retry). */
  readonly backlog: number
  /** Age in ms of the oldest waiting message (by sequence), 0 when empty. */
  readonly oldestAgeMs: number
  /** Messages in the dead letters. */
  readonly dead: number
}

export async function readOutboxStats(db: SqlRunner, names: TableNames): Promise<OutboxStats> {
  const { rows } = await runSql<{ backlog: string; oldest_age_ms: number | null; dead: string }>(
    db,
    `SELECT (SELECT count(*) FROM ${names.quoted.outbox}) AS backlog,
            (SELECT (extract(epoch FROM clock_timestamp() - created_at) * 1000)::float8
               FROM ${names.quoted.outbox} ORDER BY id LIMIT 1) AS oldest_age_ms,
            (SELECT count(*) FROM ${names.quoted.dead}) AS dead`,
  )
  const row = rows[0]
  return {
    backlog: Number(row?.backlog ?? 0),
    oldestAgeMs: Math.max(0, Math.round(row?.oldest_age_ms ?? 0)),
    dead: Number(row?.dead ?? 0),
  }
}
