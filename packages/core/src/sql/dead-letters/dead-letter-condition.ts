import type { DeadLetterFilter, DeadLetterSelection } from '../../dead-letters/dead-letter-selection.js'
import type { Placeholders } from '../statement.js'

/**
 * The parameters a dead-letter selection or filter brings to a statement
 * (lock-dead-letters, list-dead-letters, count-dead-letters): each is used
 * only when the selection or filter sets it.
 *   ids            text[]        message ids        (selection 'ids'), or dead-letter ids (selection 'deadIds', digits only)
 *   topic          text                             (selection 'topic', filter.topic)
 *   key            text                             (filter.key)
 *   errorContains  text                             (filter.errorContains: a literal substring, case-insensitive)
 *   deadFrom       timestamptz   dead at or after   (filter.deadFrom)
 *   deadTo         timestamptz   dead before        (filter.deadTo)
 */
export interface DeadLetterConditionParams {
  readonly ids?: readonly string[]
  readonly topic?: string
  readonly key?: string
  readonly errorContains?: string
  readonly deadFrom?: Date
  readonly deadTo?: Date
}

/** The selection's parameters (see DeadLetterConditionParams). */
export function conditionParams(selection: DeadLetterSelection): DeadLetterConditionParams {
  switch (selection.kind) {
    case 'ids':
    case 'deadIds':
      return { ids: selection.ids }
    case 'topic':
      return { topic: selection.topic }
    case 'all':
      return {}
    case 'filter':
      return selection.filter
  }
}

/** What changes the condition's text: the selection's kind and, for a filter, which fields it sets (part of a statement's variant). */
export function conditionVariant(selection: DeadLetterSelection): string {
  if (selection.kind !== 'filter') return selection.kind
  return `filter:${FILTER_FIELDS.filter((field) => selection.filter[field] !== undefined).join(',')}`
}

const FILTER_FIELDS = ['topic', 'key', 'errorContains', 'deadFrom', 'deadTo'] as const satisfies readonly (keyof DeadLetterFilter)[]

/**
 * The condition on the dead table (aliased `d`) that `selection` means:
 * the one meaning of a selection for retry, purge, `txbox dead list` and the
 * dashboard's search (a dashboard test checks that "all matching" acts on
 * the rows the search shows).
 */
export function deadLetterCondition(selection: DeadLetterSelection, p: Placeholders<DeadLetterConditionParams>): string {
  switch (selection.kind) {
    case 'ids':
      return `d.message_id = ANY(${p.ids}::text[])`
    case 'deadIds':
      return `d.id = ANY(${p.ids}::bigint[])`
    case 'topic':
      return `d.topic = ${p.topic}::text`
    case 'all':
      return 'true'
    case 'filter': {
      const f = selection.filter
      const conditions: string[] = []
      if (f.topic !== undefined) conditions.push(`d.topic = ${p.topic}::text`)
      if (f.key !== undefined) conditions.push(`d.key = ${p.key}::text`)
      // strpos on lower(): a literal substring, no LIKE pattern to escape.
      if (f.errorContains !== undefined) conditions.push(`strpos(lower(d.last_error), lower(${p.errorContains}::text)) > 0`)
      if (f.deadFrom !== undefined) conditions.push(`d.dead_at >= ${p.deadFrom}::timestamptz`)
      if (f.deadTo !== undefined) conditions.push(`d.dead_at < ${p.deadTo}::timestamptz`)
      return conditions.length === 0 ? 'true' : conditions.join(' AND ')
    }
  }
}
