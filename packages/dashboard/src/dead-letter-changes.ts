import type { IncomingMessage } from 'node:http'
import { type DeadLetterSelection, type Logger, purgeDeadLetters, retryDeadLetters, type TableOptions } from '@txbox/core'
import type { Kysely } from 'kysely'
import { parseDeadLetterFilter } from './dead-letter-filter.js'
import { BadRequest } from './request-body.js'

/** What the page asks for: an action and which dead letters. */
interface ChangeRequest {
  readonly action: 'retry' | 'purge'
  readonly selection: DeadLetterSelection
}

/** What the page is told after a change. */
export interface ChangeOutcome {
  readonly action: 'retry' | 'purge'
  /** Dead letters the selection matched. */
  readonly selected: number
  /** Retried or purged. */
  readonly done: number
  /** Message ids selected but kept (a retry whose message id is taken in the outbox), at most 20. */
  readonly kept: readonly string[]
}

/** Most message ids one change may name: a selection is one page or a few. */
const MAX_IDS = 1000

/**
 * Reads `{ action, deadIds }` (the rows selected on the page: exactly those),
 * `{ action, messageIds }` (every dead letter with those message ids) or
 * `{ action, filter }` from the page.
 */
export function parseChangeRequest(body: unknown): ChangeRequest {
  if (typeof body !== 'object' || body === null) throw new BadRequest('expected a JSON object')
  const { action, deadIds, messageIds, filter } = body as Record<string, unknown>
  if (action !== 'retry' && action !== 'purge') throw new BadRequest('action must be "retry" or "purge"')
  if (deadIds !== undefined) {
    if (!Array.isArray(deadIds) || deadIds.length === 0 || !deadIds.every((id) => typeof id === 'string' && /^\d{1,18}$/.test(id))) {
      throw new BadRequest('deadIds must be a non-empty array of dead-letter ids (strings of digits)')
    }
    if (deadIds.length > MAX_IDS) throw new BadRequest(`at most ${MAX_IDS} dead letters at once: use a filter for more`)
    return { action, selection: { kind: 'deadIds', ids: [...new Set(deadIds as string[])] } }
  }
  if (messageIds !== undefined) {
    if (!Array.isArray(messageIds) || messageIds.length === 0 || !messageIds.every((id) => typeof id === 'string' && id !== '')) {
      throw new BadRequest('messageIds must be a non-empty array of message ids')
    }
    if (messageIds.length > MAX_IDS) throw new BadRequest(`at most ${MAX_IDS} message ids at once: use a filter for more`)
    return { action, selection: { kind: 'ids', ids: [...new Set(messageIds as string[])] } }
  }
  if (typeof filter === 'object' && filter !== null) return { action, selection: { kind: 'filter', filter: parseDeadLetterFilter(filter) } }
  throw new BadRequest('give deadIds (the selected rows), messageIds, or filter (all matching it; {} for every dead letter)')
}

/**
 * Runs a change with the core's own retryDeadLetters or purgeDeadLetters,
 * the implementation behind `txbox dead retry|purge` (same selection lock,
 * same per-key locks, same guarantees), and logs it.
 */
export async function applyChange(
  db: Kysely<any>,
  tables: TableOptions,
  change: ChangeRequest,
  context: { logger: Logger; actor: string },
): Promise<ChangeOutcome> {
  let outcome: ChangeOutcome
  if (change.action === 'retry') {
    const { selected, retried } = await retryDeadLetters(db, change.selection, tables)
    const moved = new Set(retried.map((d) => d.id))
    const kept = selected.filter((d) => !moved.has(d.id)).map((d) => d.messageId)
    outcome = { action: 'retry', selected: selected.length, done: retried.length, kept: kept.slice(0, 20) }
  } else {
    const purged = await purgeDeadLetters(db, change.selection, tables)
    outcome = { action: 'purge', selected: purged.length, done: purged.length, kept: [] }
  }
  context.logger.info(
    { action: outcome.action, actor: context.actor, selection: describe(change.selection), selected: outcome.selected, done: outcome.done, kept: outcome.kept.length },
    `dashboard: ${context.actor} ${outcome.action === 'retry' ? 'retried' : 'purged'} ${outcome.done} of ${outcome.selected} dead letter(s) (${describe(change.selection)})`,
  )
  return outcome
}

/** The selection for the log: ids (cut to 20) or the filter's fields. */
function describe(selection: DeadLetterSelection): string {
  if (selection.kind === 'ids') return `message ids ${selection.ids.slice(0, 20).map(quoted).join(', ')}${selection.ids.length > 20 ? ` and ${selection.ids.length - 20} more` : ''}`
  if (selection.kind === 'deadIds') return `dead letters ${selection.ids.slice(0, 20).join(', ')}${selection.ids.length > 20 ? ` and ${selection.ids.length - 20} more` : ''}`
  if (selection.kind !== 'filter') return selection.kind
  const fields = Object.entries(selection.filter).map(([k, v]) => `${k}=${quoted(v instanceof Date ? v.toISOString() : String(v))}`)
  return fields.length === 0 ? 'every dead letter' : `all matching ${fields.join(' ')}`
}

/**
 * A text the page sent, quoted for a log line: JSON escapes newlines and the
 * terminal's escape character, which would otherwise forge lines or colours
 * in a log read by a person; DEL, C1 controls and line separators too.
 */
function quoted(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Who made the change, for the log: the user's `actor` callback, else the client's address. */
export function actorOf(request: IncomingMessage, actor?: (request: IncomingMessage) => string): string {
  if (actor) return actor(request)
  return request.socket.remoteAddress ?? 'unknown client'
}
