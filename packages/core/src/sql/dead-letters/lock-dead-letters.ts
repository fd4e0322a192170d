import type { DeadLetterSelection } from '../../dead-letters/dead-letter-selection.js'
import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'
import { conditionParams, conditionVariant, deadLetterCondition } from './dead-letter-condition.js'

/**
 * lock-dead-letters: locks the dead letters a selection matches (FOR UPDATE,
 * in id order, so that two retries or purges never deadlock on each other).
 *
 * Parameters: the selection's (see dead-letter-condition.ts): ids, or topic,
 * or none, or the filter's fields that are set.
 * Returns: `{ id, message_id, key }` per dead letter, by id (`id` as text).
 */
export function lockDeadLetters(names: TableNames, selection: DeadLetterSelection): Statement<{ id: string; message_id: string; key: string | null }> {
  return statement(
    names,
    `lock-dead-letters|${conditionVariant(selection)}`,
    conditionParams(selection),
    // d.id, the bigint: "id" alone would be the text output column, in text order.
    (p) => `SELECT d.id::text AS id, d.message_id, d.key FROM ${names.quoted.dead} d WHERE ${deadLetterCondition(selection, p)} ORDER BY d.id FOR UPDATE`,
    'dead',
  )
}
