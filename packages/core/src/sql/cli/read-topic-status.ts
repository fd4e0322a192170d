import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * read-topic-status: per topic, the outbox's counts (by state), the age of
 * its oldest due message, its dead letters, and its most recent error
 * (`txbox status`). One pass over each table; for operators, not a hot path.
 *
 * Parameters: none.
 * Returns: one {@link TopicStatusRow} per topic with messages or dead letters, by topic.
 */
export function readTopicStatus(names: TableNames): Statement<TopicStatusRow> {
  return statement(
    names,
    'read-topic-status',
    {},
    () => `WITH waiting AS (
  SELECT topic,
         count(*) AS backlog,
         count(*) FILTER (WHERE attempts = 0 AND (available_at IS NULL OR available_at <= now())) AS ready,
         count(*) FILTER (WHERE attempts > 0) AS retrying,
         count(*) FILTER (WHERE attempts = 0 AND available_at > now() AND available_at < 'infinity') AS delayed,
         count(*) FILTER (WHERE attempts = 0 AND available_at = 'infinity') AS held_back,
         -- The age that says how late the relay is: of due messages only (ready or retrying), as the relay's metrics.
         (extract(epoch FROM clock_timestamp() - min(created_at) FILTER (
            WHERE attempts > 0 OR available_at IS NULL OR available_at <= now() OR available_at = 'infinity'
         )) * 1000)::float8 AS oldest_age_ms
  FROM ${names.quoted.outbox} GROUP BY topic
), dead AS (
  SELECT topic, count(*) AS dead FROM ${names.quoted.dead} GROUP BY topic
), last_error AS (
  -- Rows keep no time of failure, but the relay writes a failed row anew
  -- (with its error) each time: the row written last, the smallest
  -- age(xmin), holds the most recent error.
  SELECT DISTINCT ON (topic) topic, message_id, last_error
  FROM ${names.quoted.outbox} WHERE last_error IS NOT NULL
  ORDER BY topic, age(xmin), id DESC
)
SELECT coalesce(w.topic, d.topic) AS topic,
       coalesce(w.backlog, 0) AS backlog, coalesce(w.ready, 0) AS ready,
       coalesce(w.retrying, 0) AS retrying, coalesce(w.delayed, 0) AS delayed, coalesce(w.held_back, 0) AS held_back,
       coalesce(d.dead, 0) AS dead, w.oldest_age_ms,
       e.last_error, e.message_id AS last_error_message_id
FROM waiting w FULL JOIN dead d ON d.topic = w.topic
LEFT JOIN last_error e ON e.topic = w.topic
ORDER BY 1`,
    'outbox',
  )
}

/** Counts are bigint, so text. */
export interface TopicStatusRow {
  topic: string
  backlog: string
  ready: string
  retrying: string
  delayed: string
  held_back: string
  dead: string
  oldest_age_ms: number | null
  last_error: string | null
  last_error_message_id: string | null
}
