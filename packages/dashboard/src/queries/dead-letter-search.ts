import { type DeadLetter, type DeadLetterFilter, listDeadLetters, type TableOptions } from '@txbox/core'
import { type Kysely, sql } from 'kysely'
import type { OutboxTables } from './outbox-tables.js'
import { OWN_STATEMENT_MARK } from './relay-sessions.js'

/** The core's DeadLetter as the API sends it: its times as ISO text. */
type SentDeadLetter = Omit<DeadLetter, 'createdAt' | 'deadAt'> & { readonly createdAt: string; readonly deadAt: string }

/** A dead letter as the list shows it: its payload cut short (at most {@link PREVIEW_CHARS} characters of JSON text). */
export type DeadLetterRow = Omit<SentDeadLetter, 'payload' | 'headers'> & { readonly payloadPreview: string }

/**
 * A dead letter with everything: headers whole, and its payload as the JSON
 * text PostgreSQL stores (not parsed: a parse would round numbers beyond
 * 2^53, and the page must show what the relay would send).
 */
export type DeadLetterDetail = SentDeadLetter

/** One page of a search, newest first. */
export interface DeadLetterPage {
  readonly rows: readonly DeadLetterRow[]
  /** Pass as `before` for the next (older) page; null on the last page. */
  readonly next: string | null
  /** How many match, counted up to {@link COUNT_CAP} (`capped` says the count stopped there). */
  readonly total: number
  readonly capped: boolean
}

const PREVIEW_CHARS = 160
/** Counting stops here: a count of millions would cost more than the page. */
export const COUNT_CAP = 100_000

/**
 * A page of dead letters matching `filter`, newest first, after the cursor
 * `before`: the core's listDeadLetters, the listing `txbox dead list` runs
 * too, so the filter means exactly what it means to retryDeadLetters and
 * purgeDeadLetters (a test checks that "all matching" acts on the rows the
 * search shows).
 */
export async function searchDeadLetters(
  db: Kysely<any>,
  tables: TableOptions,
  filter: DeadLetterFilter,
  page: { before?: string; limit: number },
): Promise<DeadLetterPage> {
  const { rows, total } = await listDeadLetters(
    db,
    { filter, newestFirst: true, limit: page.limit + 1, previewChars: PREVIEW_CHARS, countUpTo: COUNT_CAP, ...(page.before === undefined ? {} : { after: page.before }) },
    tables,
  )
  const shown = rows.slice(0, page.limit)
  return {
    rows: shown.map(({ payload, headers: _headers, createdAt, deadAt, ...row }) => ({
      ...row,
      createdAt: createdAt.toISOString(),
      deadAt: deadAt.toISOString(),
      payloadPreview: payload,
    })),
    next: rows.length > page.limit ? (shown[shown.length - 1]?.id ?? null) : null,
    total,
    capped: total >= COUNT_CAP,
  }
}

/** One dead letter, whole; undefined when it is gone (retried or purged). */
export async function readDeadLetter(db: Kysely<any>, tables: TableOptions, id: string): Promise<DeadLetterDetail | undefined> {
  if (BigInt(id) < 1n) return undefined // ids start at 1
  // The first dead letter after id − 1 in id order: this one, if it is still there.
  const { rows } = await listDeadLetters(db, { after: (BigInt(id) - 1n).toString(), limit: 1, countUpTo: 1 }, tables)
  const found = rows[0]
  if (found === undefined || found.id !== id) return undefined
  return { ...found, createdAt: found.createdAt.toISOString(), deadAt: found.deadAt.toISOString() }
}

/**
 * Dead letters per minute over the last `minutes`, from dead_at: the chart's
 * history, exact from the start. One row per minute (the chart sums the
 * topics), not one per topic and minute: with thousands of topics that was
 * thousands of rows per sample.
 */
export async function readDeadPerMinute(db: Kysely<any>, tables: OutboxTables, minutes: number): Promise<{ minute: number; n: number }[]> {
  const { rows } = await sql<{ minute: number; n: string }>`${sql.raw(OWN_STATEMENT_MARK)}
    SELECT (extract(epoch FROM date_trunc('minute', dead_at)))::float8 AS minute, count(*) AS n
    FROM ${tables.dead} WHERE dead_at >= now() - make_interval(mins => ${minutes}::int)
    GROUP BY 1 ORDER BY 1`.execute(db)
  return rows.map((r) => ({ minute: r.minute * 1000, n: Number(r.n) }))
}
