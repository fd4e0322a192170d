import type { TableNames } from '../schema/table-names.js'
import { runSql } from '../sql/run-sql.js'
import { readOutboxStats as readOutboxStatsStatement } from '../sql/relay/read-outbox-stats.js'
import type { SqlRunner } from '../sql-executor.js'

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

/** Counters since the relay was created, plus a snapshot of the outbox. */
export interface RelayMetrics extends OutboxStats {
  /** Messages the broker confirmed. */
  readonly published: number
  /** Failed attempts that will be retried. */
  readonly failed: number
  /** Messages moved to the dead letters. */
  readonly deadLettered: number
  /** Batches taken that held at least one message. */
  readonly batches: number
}

/** The relay's own counters, as it updates them. */
export type RelayCounters = { -readonly [K in Exclude<keyof RelayMetrics, keyof OutboxStats>]: number }

export async function readOutboxStats(db: SqlRunner, names: TableNames): Promise<OutboxStats> {
  const { rows } = await runSql(db, readOutboxStatsStatement(names))
  const row = rows[0]
  return {
    backlog: Number(row?.backlog ?? 0),
    oldestAgeMs: Math.max(0, Math.round(row?.oldest_age_ms ?? 0)),
    dead: Number(row?.dead ?? 0),
  }
}
