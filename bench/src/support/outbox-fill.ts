import type pg from 'pg'

/**
 * Appends `count` ready messages (100 keys, a small JSON payload) to a txbox
 * outbox in one INSERT … SELECT generate_series: loading is not what is
 * measured, so it skips enqueueOnCommit's round trip per statement.
 */
export async function fillOutbox(pool: pg.Pool, outbox: string, count: number, keys = 100, from = 0): Promise<void> {
  const chunk = 250_000
  for (let start = from; start < from + count; start += chunk) {
    const end = Math.min(from + count, start + chunk) - 1
    await pool.query(
      `INSERT INTO ${outbox} (message_id, topic, key, payload)
       SELECT 'm-' || g, 'bench.events', 'key-' || (g % ${keys}), jsonb_build_object('n', g, 'pad', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')
       FROM generate_series($1::bigint, $2::bigint) AS g`,
      [start, end],
    )
  }
}
