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
 * act on: by message id (`txbox dead retry --id`; every dead letter with that
 * message id), by the dead table's own id (`deadIds`: exactly those rows, what
 * a page's selected rows mean), by topic (`--topic`), every one (`--all`), or
 * those a {@link DeadLetterFilter} matches.
 */
export type DeadLetterSelection =
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  | { readonly kind: 'deadIds'; readonly ids: readonly string[] }
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
