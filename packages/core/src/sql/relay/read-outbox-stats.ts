import type { TableNames } from '../../schema/table-names.js'
import { LANE_COUNT } from '../../schema/migrations.js'
import { type Statement, statement } from '../statement.js'

/**
 * read-outbox-stats: a snapshot of the outbox for Relay.metrics().
 *
 * Parameters: none.
 * Returns: one row: `backlog` (count, as text), `oldest_age_ms` (ms since the
 * oldest due message was enqueued: a lane's head or a retrying row; null when
 * none is due), `dead` (count, as text).
 */
export function readOutboxStats(names: TableNames): Statement<{ backlog: string; oldest_age_ms: number | null; dead: string }> {
  return statement(
    names,
    'read-outbox-stats',
    {},
    () => `SELECT (SELECT count(*) FROM ${names.quoted.outbox}) AS backlog,
       (SELECT (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 FROM (
          -- the head of each lane, through the (lane, id) index, and the retrying rows
          SELECT (SELECT o.created_at FROM ${names.quoted.outbox} o
                  WHERE o.lane = l.lane AND o.available_at IS NULL ORDER BY o.lane, o.id LIMIT 1) AS created_at
          FROM generate_series(0, ${LANE_COUNT - 1}) AS l(lane)
          UNION ALL
          SELECT o.created_at FROM ${names.quoted.outbox} o WHERE o.attempts > 0
        ) heads) AS oldest_age_ms,
       (SELECT count(*) FROM ${names.quoted.dead}) AS dead`,
    'outbox',
  )
}
