import { type DeadLetterFilter, listDeadLetters, type TableOptions } from '@txbox/core'
import { type Kysely, sql } from 'kysely'
import type { OutboxTables } from './outbox-tables.js'
import { OWN_STATEMENT_MARK } from './relay-sessions.js'

/** A dead letter as the list shows it: its payload cut short. */
export interface DeadLetterRow {
  /** The dead table's id: unique, and the paging cursor. */
  readonly id: string
  readonly messageId: string
  readonly topic: string
  readonly key: string | null
  readonly attempts: number
  readonly lastError: string | null
  readonly createdAt: string
  readonly deadAt: string
  /** The payload's JSON text, at most {@link PREVIEW_CHARS} characters. */
  readonly payloadPreview: string
}

/** A dead letter with everything: payload and headers whole. */
export interface DeadLetterDetail extends Omit<DeadLetterRow, 'payloadPreview'> {
  readonly payload: unknown
  readonly headers: Record<string, string>
}

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
export async function readDeadLetter(db: Kysely<any>, tables: OutboxTables, id: string): Promise<DeadLetterDetail | undefined> {
  const { rows } = await sql<{
    id: string
    message_id: string
    topic: string
    key: string | null
    attempts: number
    last_error: string | null
    created_at: Date
    dead_at: Date
    payload: string
    headers: string | null
  }>`${sql.raw(OWN_STATEMENT_MARK)}
    SELECT d.id::text AS id, d.message_id, d.topic, d.key, d.attempts, d.last_error, d.created_at, d.dead_at, d.payload::text AS payload, d.headers::text AS headers
    FROM ${tables.dead} d WHERE d.id = ${id}::bigint`.execute(db)
  const r = rows[0]
  if (r === undefined) return undefined
  return {
    id: r.id,
    messageId: r.message_id,
    topic: r.topic,
    key: r.key,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at.toISOString(),
    deadAt: r.dead_at.toISOString(),
    payload: JSON.parse(r.payload),
    headers: r.headers === null ? {} : JSON.parse(r.headers),
  }
}

/** Dead letters per topic and minute over the last `minutes`, from dead_at: the chart's history, exact from the start. */
export async function readDeadPerMinute(db: Kysely<any>, tables: OutboxTables, minutes: number): Promise<{ minute: number; topic: string; n: number }[]> {
  const { rows } = await sql<{ minute: number; topic: string; n: string }>`${sql.raw(OWN_STATEMENT_MARK)}
    SELECT (extract(epoch FROM date_trunc('minute', dead_at)))::float8 AS minute, topic, count(*) AS n
    FROM ${tables.dead} WHERE dead_at >= now() - make_interval(mins => ${minutes}::int)
    GROUP BY 1, 2 ORDER BY 1`.execute(db)
  return rows.map((r) => ({ minute: r.minute * 1000, topic: r.topic, n: Number(r.n) }))
}
