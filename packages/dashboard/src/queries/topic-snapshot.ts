import { type Kysely, sql } from 'kysely'
import type { OutboxTables } from './outbox-tables.js'
import { OWN_STATEMENT_MARK } from './relay-sessions.js'

/** One topic of the outbox and of its dead letters, now. */
export interface TopicSnapshot {
  readonly topic: string
  /** Messages waiting in the outbox: ready, delayed, held back or waiting for a retry. */
  readonly waiting: number
  /** Of those, failed at least once and waiting for their retry. */
  readonly retrying: number
  /** Of those, delayed (not due yet) or held back behind their key's failing head. */
  readonly delayed: number
  /** Age of the oldest due message (ready, or failed and waiting for its retry), in ms; 0 when none. */
  readonly oldestAgeMs: number
  /** Messages in the dead letters. */
  readonly dead: number
}

/**
 * Every topic's numbers in one round trip: one pass over the outbox and one
 * over the dead letters, grouped by topic (no index walks a GROUP BY over all
 * topics faster than a sequential scan: 100k waiting rows take some 30 ms).
 * "Due" is what the core's `relay.metrics()` calls due: ready, or retrying.
 */
export async function readTopicSnapshots(db: Kysely<any>, tables: OutboxTables): Promise<TopicSnapshot[]> {
  const { rows } = await sql<{ topic: string; waiting: string; retrying: string; delayed: string; oldest_age_ms: number | null; dead: string }>`${sql.raw(OWN_STATEMENT_MARK)}
    WITH outbox AS (
      SELECT topic, count(*) AS waiting,
             count(*) FILTER (WHERE attempts > 0) AS retrying,
             count(*) FILTER (WHERE attempts = 0 AND available_at IS NOT NULL) AS delayed,
             (extract(epoch FROM clock_timestamp() - min(created_at) FILTER (WHERE available_at IS NULL OR attempts > 0)) * 1000)::float8 AS oldest_age_ms
      FROM ${tables.outbox} GROUP BY topic
    ), dead AS (
      SELECT topic, count(*) AS dead FROM ${tables.dead} GROUP BY topic
    )
    SELECT coalesce(o.topic, d.topic) AS topic, coalesce(o.waiting, 0) AS waiting, coalesce(o.retrying, 0) AS retrying,
           coalesce(o.delayed, 0) AS delayed, o.oldest_age_ms, coalesce(d.dead, 0) AS dead
    FROM outbox o FULL JOIN dead d ON d.topic = o.topic
    ORDER BY 1`.execute(db)
  return rows.map((r) => ({
    topic: r.topic,
    waiting: Number(r.waiting),
    retrying: Number(r.retrying),
    delayed: Number(r.delayed),
    oldestAgeMs: Math.max(0, Math.round(r.oldest_age_ms ?? 0)),
    dead: Number(r.dead),
  }))
}
