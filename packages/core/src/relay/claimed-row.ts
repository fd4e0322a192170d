import type { OutboxMessage } from '../publisher.js'

/** A row as the claim returns it: the message plus what settling a failure needs. */
export interface ClaimedRow {
  readonly message: OutboxMessage
  /** Restored as it was when the message is put back unattempted. */
  readonly availableAt: Date | null
  readonly lastError: string | null
}

export interface RawClaimedRow {
  id: string
  message_id: string
  topic: string
  key: string | null
  payload: string
  headers: string | null
  attempts: number
  created_ms: number
  available_ms: number | null
  last_error: string | null
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

export function toClaimedRow(row: RawClaimedRow): ClaimedRow {
  return {
    message: {
      id: row.id,
      messageId: row.message_id,
      topic: row.topic,
      key: row.key,
      payload: row.payload,
      headers: row.headers === null ? NO_HEADERS : (JSON.parse(row.headers) as Record<string, string>),
      attempts: row.attempts,
      createdAt: new Date(row.created_ms),
    },
    availableAt: row.available_ms === null ? null : new Date(row.available_ms),
    lastError: row.last_error,
  }
}

/** Orders by the bigint id given as decimal text, without BigInt allocations. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
