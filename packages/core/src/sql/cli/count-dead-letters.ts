import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'

/**
 * count-dead-letters: how many dead letters there are (of a topic).
 *
 * Parameters:
 *   topic  text or null (every topic)
 * Returns: one row, `{ n }`, the count as text.
 */
export function countDeadLetters(names: TableNames, params: { readonly topic: string | null }): Statement<{ n: string }> {
  return statement(
    names,
    'count-dead-letters',
    params,
    (p) => `SELECT count(*) AS n FROM ${names.quoted.dead} WHERE (${p.topic}::text IS NULL OR topic = ${p.topic}::text)`,
    'dead',
  )
}
