import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/** Which dead letters a `txbox dead retry|purge` command acts on. */
export type DeadSelection = { kind: 'ids'; ids: string[] } | { kind: 'topic'; topic: string } | { kind: 'all' }

/**
 * lock-dead-letters: locks the dead letters a selection matches (FOR UPDATE,
 * in id order, so that two commands never deadlock on each other).
 *
 * Parameters, by the selection's kind:
 *   ids    text[]  message ids      (kind 'ids')
 *   topic  text                     (kind 'topic')
 *   none                            (kind 'all')
 * Returns: `{ id, message_id, key }` per dead letter, by id (`id` as text).
 */
export function lockDeadLetters(names: TableNames, selection: DeadSelection): Statement<{ id: string; message_id: string; key: string | null }> {
  const params = { ids: selection.kind === 'ids' ? selection.ids : null, topic: selection.kind === 'topic' ? selection.topic : null }
  return statement(names, `lock-dead-letters|${selection.kind}`, params, (p) => {
    const where = selection.kind === 'ids' ? `message_id = ANY(${p.ids}::text[])` : selection.kind === 'topic' ? `topic = ${p.topic}::text` : 'true'
    // d.id, the bigint: "id" alone would be the text output column, in text order.
    return `SELECT d.id::text AS id, message_id, key FROM ${names.quoted.dead} d WHERE ${where} ORDER BY d.id FOR UPDATE`
  }, 'dead')
}
