import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * list-dead-letters: dead letters, oldest first (`txbox dead list`).
 *
 * Parameters:
 *   topic  text or null (every topic)
 *   limit  int
 * Returns: {@link DeadLetterRow}s, by id.
 */
export function listDeadLetters(names: TableNames, params: { readonly topic: string | null; readonly limit: number }): Statement<DeadLetterRow> {
  return statement(
    names,
    'list-dead-letters',
    params,
    // d.id, the bigint: the output column "id" is its text, which would sort 10 before 9.
    (p) => `SELECT d.id::text AS id, message_id, topic, key, payload::text, headers::text, attempts, last_error, created_at, dead_at
FROM ${names.quoted.dead} d WHERE (${p.topic}::text IS NULL OR topic = ${p.topic}::text) ORDER BY d.id LIMIT ${p.limit}`,
    'dead',
  )
}

export interface DeadLetterRow {
  id: string
  message_id: string
  topic: string
  key: string | null
  payload: string
  headers: string | null
  attempts: number
  last_error: string | null
  created_at: Date
  dead_at: Date
}
