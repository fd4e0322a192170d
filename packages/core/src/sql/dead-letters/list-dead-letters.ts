import type { DeadLetterFilter } from '../../dead-letters/dead-letter-selection.js'
import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'
import { type DeadLetterConditionParams, conditionVariant, deadLetterCondition } from './dead-letter-condition.js'

/**
 * list-dead-letters: a page of the dead letters a filter matches, in id order
 * (`txbox dead list`: oldest first; the dashboard: newest first). A keyset
 * page walks the primary key (or the (topic, id) index for a topic) from the
 * cursor, so a page costs the same at row 10 and at row 10,000, unlike OFFSET.
 *
 * Parameters:
 *   the filter's fields that are set (see dead-letter-condition.ts)
 *   after         bigint (as text)  only rows past this id in the order; only in the `after` variant
 *   limit         int
 *   previewChars  int               payload cut to this many characters; only in the `preview` variant
 * Variants: the filter's fields, `newest-first`, `after`, `preview`.
 * Returns: {@link DeadLetterRow}s in the order asked for.
 */
export function listDeadLetters(names: TableNames, variant: ListVariant, params: ListDeadLettersParams): Statement<DeadLetterRow> {
  const selection = { kind: 'filter', filter: variant.filter } as const
  const key = `list-dead-letters|${conditionVariant(selection)}|${variant.newestFirst}|${variant.after}|${variant.preview}`
  return statement(names, key, params, (p) => {
    const cursor = variant.after ? ` AND d.id ${variant.newestFirst ? '<' : '>'} ${p.after}::bigint` : ''
    const payload = variant.preview ? `left(d.payload::text, ${p.previewChars})` : 'd.payload::text'
    // d.id, the bigint: the output column "id" is its text, which would sort 10 before 9.
    return `SELECT d.id::text AS id, d.message_id, d.topic, d.key, ${payload} AS payload, d.headers::text AS headers, d.attempts, d.last_error, d.created_at, d.dead_at
FROM ${names.quoted.dead} d WHERE ${deadLetterCondition(selection, p)}${cursor}
ORDER BY d.id${variant.newestFirst ? ' DESC' : ''} LIMIT ${p.limit}`
  }, 'dead')
}

/** What changes the text of list-dead-letters. */
export interface ListVariant {
  readonly filter: DeadLetterFilter
  readonly newestFirst: boolean
  readonly after: boolean
  readonly preview: boolean
}

export interface ListDeadLettersParams extends DeadLetterConditionParams {
  readonly after?: string
  readonly limit: number
  readonly previewChars?: number
}

export interface DeadLetterRow {
  id: string
  message_id: string
  topic: string
  key: string | null
  /** JSON text, cut in the `preview` variant. */
  payload: string
  headers: string | null
  attempts: number
  last_error: string | null
  created_at: Date
  dead_at: Date
}
