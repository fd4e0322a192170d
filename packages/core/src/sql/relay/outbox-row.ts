/**
 * An outbox row as the relay reads it (delete-batch). Timestamps come as epoch
 * milliseconds: node-postgres parses a float several times faster than a
 * timestamptz, which shows at 500 rows a batch. The payload and headers stay
 * JSON text.
 */
export interface OutboxRow {
  readonly id: string
  readonly message_id: string
  readonly topic: string
  readonly key: string | null
  readonly payload: string
  readonly headers: string | null
  readonly attempts: number
  readonly created_ms: number
  readonly available_ms: number | null
  readonly last_error: string | null
}
