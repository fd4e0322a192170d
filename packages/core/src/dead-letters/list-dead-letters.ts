import type { Kysely } from 'kysely'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { requireKysely } from '../options/database-option.js'
import type { OptionDeclaration } from '../options/option-declaration.js'
import { boolean, integer, shape, text } from '../options/option-kinds.js'
import { resolveOptions } from '../options/resolve-options.js'
import { resolveTableNames, type TableOptions } from '../schema/table-names.js'
import { countDeadLetters } from '../sql/dead-letters/count-dead-letters.js'
import { listDeadLetters as listDeadLettersStatement } from '../sql/dead-letters/list-dead-letters.js'
import { runSql } from '../sql/run-sql.js'
import type { DeadLetterFilter } from './dead-letter-selection.js'
import { validateDeadLetterSelection } from './validate-dead-letter-selection.js'

/** Which page of dead letters {@link listDeadLetters} reads. */
export interface DeadLetterPageQuery {
  /** The dead letters to list (every one when absent): the same filter retryDeadLetters and purgeDeadLetters take. */
  readonly filter?: DeadLetterFilter
  /** Oldest first (default, `txbox dead list`) or newest first (the dashboard). */
  readonly newestFirst?: boolean
  /** The page after this dead letter: the `id` of the previous page's last row. */
  readonly after?: string
  /** Most rows. */
  readonly limit: number
  /** Cut each payload's JSON text to this many characters (a list of large payloads). */
  readonly previewChars?: number
  /** Stop counting matches here. Default: count them all. */
  readonly countUpTo?: number
}

/** The fields of a {@link DeadLetterPageQuery}, declared once. */
const PAGE_QUERY = {
  filter: shape<DeadLetterFilter>()({
    type: 'DeadLetterFilter',
    description: 'The dead letters to list.',
    defaultText: 'every dead letter',
    expected: 'a DeadLetterFilter object ({} lists every dead letter)',
    test: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  }),
  newestFirst: boolean({ default: false, description: 'Newest first instead of oldest first.' }),
  after: text({ expected: "a dead letter's id (digits)", description: "The previous page's last id." }),
  limit: integer({ min: 1, max: 100_000, required: true, description: 'Most rows.' }),
  previewChars: integer({ min: 1, description: "Cut each payload's JSON text to this many characters." }),
  countUpTo: integer({ min: 1, description: 'Stop counting matches here.' }),
} as const satisfies Record<keyof DeadLetterPageQuery, OptionDeclaration<any>>

/** A dead letter as {@link listDeadLetters} returns it. */
export interface DeadLetter {
  /** The dead table's id (the outbox id the message had): unique, and the paging cursor. */
  readonly id: string
  readonly messageId: string
  readonly topic: string
  readonly key: string | null
  readonly attempts: number
  readonly lastError: string | null
  readonly createdAt: Date
  readonly deadAt: Date
  /** The payload's JSON text (cut to `previewChars` when given). */
  readonly payload: string
  /** The headers (empty when the message had none). */
  readonly headers: Record<string, string>
}

/** A page of {@link listDeadLetters}. */
export interface DeadLetterPage {
  readonly rows: readonly DeadLetter[]
  /** How many dead letters match, counted up to `countUpTo`. */
  readonly total: number
}

/**
 * A page of the dead letters `filter` matches, in id order: what
 * `txbox dead list` prints and the dashboard's search shows.
 *
 * @example
 * const { rows, total } = await listDeadLetters(db, { filter: { topic: 'email.welcome' }, limit: 20 })
 */
export async function listDeadLetters(db: Kysely<any>, query: DeadLetterPageQuery, options: TableOptions = {}): Promise<DeadLetterPage> {
  requireKysely('listDeadLetters(db)', db)
  const { filter = {}, newestFirst, after, limit, previewChars, countUpTo } = resolveOptions('listDeadLetters', PAGE_QUERY, query)
  validateDeadLetterSelection('listDeadLetters', { kind: 'filter', filter })
  if (after !== undefined && !/^\d{1,19}$/.test(after)) throw new InvalidOptionError('after', `listDeadLetters: after must be a dead letter's id (digits, as listDeadLetters returns it), got ${JSON.stringify(after)}.`)
  const names = resolveTableNames(options)
  const variant = { filter, newestFirst, after: after !== undefined, preview: previewChars !== undefined }
  const { rows } = await runSql(db, listDeadLettersStatement(names, variant, { ...filter, after, limit, previewChars }))
  const counted = await runSql(db, countDeadLetters(names, filter, { ...filter, cap: countUpTo ?? Number.MAX_SAFE_INTEGER }))
  return {
    rows: rows.map((r) => ({
      id: r.id,
      messageId: r.message_id,
      topic: r.topic,
      key: r.key,
      attempts: r.attempts,
      lastError: r.last_error,
      createdAt: r.created_at,
      deadAt: r.dead_at,
      payload: r.payload,
      headers: r.headers === null ? {} : JSON.parse(r.headers),
    })),
    total: Number(counted.rows[0]?.n ?? 0),
  }
}
