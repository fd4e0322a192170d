import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger, TableOptions } from '@txbox/core'
import type { Kysely } from 'kysely'
import { actorOf, applyChange, parseChangeRequest } from './dead-letter-changes.js'
import { parseDeadLetterFilter } from './dead-letter-filter.js'
import { HISTORY_MS, type History } from './history.js'
import type { OutboxTables } from './queries/outbox-tables.js'
import { readDeadLetter, readDeadPerMinute, searchDeadLetters } from './queries/dead-letter-search.js'
import { readRelaySessions } from './queries/relay-sessions.js'
import { readTopicSnapshots, type TopicSnapshot } from './queries/topic-snapshot.js'
import { readJsonBody } from './request-body.js'

/** What the API routes work with. */
export interface ApiContext {
  readonly db: Kysely<any>
  readonly tables: OutboxTables
  readonly tableOptions: TableOptions
  readonly history: History
  readonly allowChanges: boolean
  readonly logger: Logger
  readonly actor: ((request: IncomingMessage) => string) | undefined
}

const PAGE_SIZES = new Set([25, 50, 100, 200])
/** Lines per chart: the page has eight colours, and more lines would not be read. */
const CHART_LINES = 8

/** Answers `GET api/<route>`; false for an unknown route. */
export async function getApi(route: string, url: URL, context: ApiContext, response: ServerResponse): Promise<boolean> {
  const { db, tables } = context
  if (route === 'overview') {
    // The topics come from the sampler's last pass (at most one interval old):
    // a page load does not scan the outbox again.
    const [latest, relays] = await Promise.all([latestTopics(context), readRelaySessions(db, tables)])
    sendJson(response, 200, { now: new Date().toISOString(), sampledAt: new Date(latest.at).toISOString(), allowChanges: context.allowChanges, topics: latest.topics, relays })
  } else if (route === 'history') {
    sendJson(response, 200, {
      perTopicCounts: context.history.countsPerTopic,
      ...context.history.chart(CHART_LINES),
      deadPerMinute: await readDeadPerMinute(db, tables, HISTORY_MS / 60_000),
    })
  } else if (route === 'dead-letters') {
    const q = url.searchParams
    const filter = parseDeadLetterFilter({ topic: q.get('topic'), key: q.get('key'), error: q.get('error'), from: q.get('from'), to: q.get('to') })
    const limit = Number(q.get('limit') ?? 50)
    const before = q.get('before') ?? undefined
    if (!PAGE_SIZES.has(limit)) return badRequest(response, `limit must be one of ${[...PAGE_SIZES].join(', ')}`)
    if (before !== undefined && !/^\d{1,19}$/.test(before)) return badRequest(response, 'before must be a dead letter id')
    sendJson(response, 200, await searchDeadLetters(db, context.tableOptions, filter, { limit, ...(before === undefined ? {} : { before }) }))
  } else if (route.startsWith('dead-letters/')) {
    const id = route.slice('dead-letters/'.length)
    if (!/^\d{1,19}$/.test(id)) return badRequest(response, 'not a dead letter id')
    const detail = await readDeadLetter(db, context.tableOptions, id)
    if (detail === undefined) sendJson(response, 404, { error: 'no such dead letter (retried or purged meanwhile?)' })
    else sendJson(response, 200, detail)
  } else {
    return false
  }
  return true
}

/** Answers `POST api/dead-letters/changes` (access and CSRF were checked by the caller). */
export async function postChange(request: IncomingMessage, context: ApiContext, response: ServerResponse): Promise<void> {
  if (!context.allowChanges) {
    context.logger.warn({ actor: actorOf(request, context.actor) }, 'dashboard: a change was refused: the dashboard is read-only (start it with --allow-changes)')
    sendJson(response, 403, { error: 'read-only: this dashboard was started without --allow-changes (allowChanges: true)' })
    return
  }
  const change = parseChangeRequest(await readJsonBody(request))
  const outcome = await applyChange(context.db, context.tableOptions, change, { logger: context.logger, actor: actorOf(request, context.actor) })
  // The page reloads its overview next: let it show the change.
  await context.history.sample()
  sendJson(response, 200, outcome)
}

async function latestTopics(context: ApiContext): Promise<{ at: number; topics: readonly TopicSnapshot[] }> {
  const latest = context.history.latest()
  if (latest !== undefined) return latest
  // The first sample failed (the database was down): read now, and fail visibly if it still is.
  return { at: Date.now(), topics: await readTopicSnapshots(context.db, context.tables) }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body))
}

function badRequest(response: ServerResponse, message: string): true {
  sendJson(response, 400, { error: message })
  return true
}
