/**
 * Dead letters matching every field given (all of them when none is): what
 * the dashboard's search shows and its "all matching" retry or purge acts on.
 */
export interface DeadLetterFilter {
  /** Exactly this topic. */
  readonly topic?: string
  /** Exactly this key. */
  readonly key?: string
  /** The last error contains this text (case-insensitive, taken literally: `%` and `_` are no wildcards). */
  readonly errorContains?: string
  /** Dead at or after this time. */
  readonly deadFrom?: Date
  /** Dead before this time. */
  readonly deadTo?: Date
}

/**
 * Which dead letters {@link retryDeadLetters} and {@link purgeDeadLetters}
 * act on: by message id (`txbox dead retry --id`), by topic (`--topic`),
 * every one (`--all`), or those a {@link DeadLetterFilter} matches.
 */
export type DeadLetterSelection =
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  | { readonly kind: 'topic'; readonly topic: string }
  | { readonly kind: 'all' }
  | { readonly kind: 'filter'; readonly filter: DeadLetterFilter }

/** A dead letter a retry or purge selected. */
export interface DeadLetterRef {
  /** The dead table's id (the outbox id the message had): unique, unlike the message id. */
  readonly id: string
  readonly messageId: string
  readonly key: string | null
}

/** The SQL condition (on the dead table, aliased `d`) and its parameters, numbered from `$1`. */
export function deadLetterFilterWhere(filter: DeadLetterFilter): { sql: string; params: unknown[] } {
  const conditions: string[] = []
  const params: unknown[] = []
  const add = (condition: (n: string) => string, value: unknown) => {
    params.push(value)
    conditions.push(condition(`$${params.length}`))
  }
  if (filter.topic !== undefined) add((n) => `d.topic = ${n}::text`, filter.topic)
  if (filter.key !== undefined) add((n) => `d.key = ${n}::text`, filter.key)
  if (filter.errorContains !== undefined) {
    // strpos on lower(): a literal substring, no LIKE pattern to escape.
    add((n) => `strpos(lower(d.last_error), lower(${n}::text)) > 0`, filter.errorContains)
  }
  if (filter.deadFrom !== undefined) add((n) => `d.dead_at >= ${n}::timestamptz`, filter.deadFrom)
  if (filter.deadTo !== undefined) add((n) => `d.dead_at < ${n}::timestamptz`, filter.deadTo)
  return { sql: conditions.length === 0 ? 'true' : conditions.join(' AND '), params }
}
