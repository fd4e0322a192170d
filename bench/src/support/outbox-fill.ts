import type pg from 'pg'

export interface FillOptions {
  /** The topic of every message (the Redis stream, by default). */
  readonly topic?: string
  /** Ordering keys, spread round-robin. Default 100. */
  readonly keys?: number
  /** First message number, so that message ids stay unique across fills. Default 0. */
  readonly from?: number
  /**
   * Give each message a W3C `traceparent` header of a trace of its own, as
   * enqueueOnCommit writes when the application traces: the relay's send
   * spans then parse one creation context per message and link to it.
   */
  readonly traceContext?: boolean
}

/** A distinct, valid `traceparent` per message number g. */
const TRACEPARENT_SQL = `jsonb_build_object('traceparent', '00-' || md5('t' || g) || '-' || left(md5('s' || g), 16) || '-01')`

/** The payload every benchmark message carries: about 80 bytes of JSON. */
export const PAYLOAD_SQL = `jsonb_build_object('n', g, 'pad', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')`

/**
 * Appends `count` ready messages to a txbox outbox (or a table of its shape)
 * with INSERT … SELECT generate_series: loading is not what is measured, so
 * it skips enqueueOnCommit's round trip per statement.
 */
export async function fillOutbox(pool: pg.Pool, table: string, count: number, options: FillOptions = {}): Promise<void> {
  const { topic = 'bench.events', keys = 100, from = 0, traceContext = false } = options
  const chunk = 250_000
  for (let start = from; start < from + count; start += chunk) {
    const end = Math.min(from + count, start + chunk) - 1
    await pool.query(
      `INSERT INTO ${table} (message_id, topic, key, payload${traceContext ? ', headers' : ''})
       SELECT 'm-' || g, $3::text, 'key-' || (g % ${keys}), ${PAYLOAD_SQL}${traceContext ? `, ${TRACEPARENT_SQL}` : ''}
       FROM generate_series($1::bigint, $2::bigint) AS g`,
      [start, end, topic],
    )
  }
}
