import type { DeadLetterFilter } from '../../dead-letters/dead-letter-selection.js'
import type { TableNames } from '../../schema/table-names.js'
import { type Statement, statement } from '../statement.js'
import { type DeadLetterConditionParams, conditionVariant, deadLetterCondition } from './dead-letter-condition.js'

/**
 * count-dead-letters: how many dead letters a filter matches, counted up to a
 * cap (a count of millions would cost more than the page it goes with).
 *
 * Parameters:
 *   the filter's fields that are set (see dead-letter-condition.ts)
 *   cap  bigint  counting stops here
 * Returns: one row, `{ n }`, the count as text.
 */
export function countDeadLetters(names: TableNames, filter: DeadLetterFilter, params: DeadLetterConditionParams & { readonly cap: number }): Statement<{ n: string }> {
  const selection = { kind: 'filter', filter } as const
  return statement(
    names,
    `count-dead-letters|${conditionVariant(selection)}`,
    params,
    (p) => `SELECT count(*) AS n FROM (SELECT 1 FROM ${names.quoted.dead} d WHERE ${deadLetterCondition(selection, p)} LIMIT ${p.cap}) m`,
    'dead',
  )
}
