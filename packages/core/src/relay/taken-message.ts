import type { OutboxMessage } from '../publisher.js'
import type { OutboxRow } from '../sql/relay/outbox-row.js'

/** A message delete-batch deleted: what the publisher gets, and what putting it back needs. */
export interface TakenMessage {
  readonly message: OutboxMessage
  /** Restored as it was when the message is put back unattempted. */
  readonly availableAt: Date | null
  readonly lastError: string | null
  /** The headers column as stored (JSON text or null), written back unchanged when the row is put back. */
  readonly headersText: string | null
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

export function toTakenMessage(row: OutboxRow): TakenMessage {
  return {
    message: {
      id: row.id,
      messageId: row.message_id,
      topic: row.topic,
      key: row.key,
      payload: row.payload,
      headers: toHeaders(row.headers),
      attempts: row.attempts,
      createdAt: new Date(row.created_ms),
    },
    availableAt: row.available_ms === null ? null : new Date(row.available_ms),
    lastError: row.last_error,
    headersText: row.headers,
  }
}

/**
 * The headers a publisher gets: always an object of strings. Rows can be
 * written by hand or by other tools, so the column may hold JSON `null`, an
 * array, or non-string values; one such row must not fail the batch it was
 * taken with (every message of it would be stuck). Anything that is not an
 * object counts as no headers; a non-string value is passed as its JSON text.
 */
function toHeaders(text: string | null): Readonly<Record<string, string>> {
  if (text === null) return NO_HEADERS
  const parsed: unknown = JSON.parse(text)
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return NO_HEADERS
  const entries = Object.entries(parsed)
  if (entries.every(([, value]) => typeof value === 'string')) return parsed as Record<string, string>
  const headers: Record<string, string> = {}
  for (const [name, value] of entries) headers[name] = typeof value === 'string' ? value : JSON.stringify(value)
  return headers
}

/** Orders by the bigint id given as decimal text, without BigInt allocations. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
