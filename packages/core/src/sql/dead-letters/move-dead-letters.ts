import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * move-dead-letters: moves dead letters back into the outbox (`txbox dead
 * retry`), as new rows (new ids, attempts 0) with the same message id, topic,
 * key, payload and headers, and deletes exactly the rows it inserted.
 *
 * Parameters:
 *   ids  bigint[]  the dead table's ids (locked by lock-dead-letters)
 * Returns: one row: `inserted` (count) and `removed` (the dead ids deleted, as text).
 *
 * A message id is in the outbox at most once. Of several dead letters with one
 * message id, only the oldest (lowest id: the first enqueued) is moved; and a
 * dead letter whose message id a message in the outbox holds is not moved
 * (ON CONFLICT DO NOTHING, which also waits for an uncommitted writer of that
 * id). The DELETE is joined to what the INSERT returned, so nothing is deleted
 * that was not inserted. Message ids compare byte-wise (COLLATE "C", as the
 * outbox's primary key does), whatever the database's default collation.
 */
export function moveDeadLetters(names: TableNames, params: { readonly ids: readonly string[] }): Statement<{ inserted: number; removed: string[] }> {
  return statement(
    names,
    'move-dead-letters',
    params,
    (p) => `WITH candidate AS (
  SELECT DISTINCT ON (message_id COLLATE "C") id, message_id, topic, key, payload, headers
  FROM ${names.quoted.dead} WHERE id = ANY(${p.ids}::bigint[])
  ORDER BY message_id COLLATE "C", id
), inserted AS (
  INSERT INTO ${names.quoted.outbox} (message_id, topic, key, payload, headers)
  SELECT message_id, topic, key, payload, headers FROM candidate ORDER BY id
  ON CONFLICT (message_id) DO NOTHING
  RETURNING message_id
), removed AS (
  DELETE FROM ${names.quoted.dead} d USING candidate c, inserted i
  WHERE d.id = c.id AND i.message_id = c.message_id COLLATE "C"
  RETURNING d.id
)
SELECT (SELECT count(*)::int FROM inserted) AS inserted,
       coalesce((SELECT array_agg(id::text) FROM removed), '{}') AS removed`,
    'dead',
  )
}
