/** A message to record in the outbox. */
export interface OutboxMessageInput {
  /** Where it goes: the Redis stream or the AMQP routing key, by default. Non-empty, at most 255 characters. */
  topic: string
  /** Any JSON-serialisable value. Stored as jsonb; published as JSON text. */
  payload: unknown
  /**
   * Ordering key. Messages with the same key are published in the order their
   * transactions committed; messages without one are unordered.
   */
  key?: string | null
  /** String headers, carried to the broker (AMQP headers, a Redis stream field). */
  headers?: Record<string, string>
  /** Publish no earlier than this many milliseconds after the enqueue (the INSERT statement's time). */
  delay?: number
  /** Publish no earlier than this time. Exclusive with `delay`. */
  availableAt?: Date
  /**
   * Your idempotency key. Enqueuing a messageId that is still waiting in the
   * outbox again is a no-op that returns the same id. Default: a new UUIDv7.
   */
  messageId?: string
}

/** A message after validation, ready for the INSERT. */
export interface ValidatedMessage {
  readonly messageId: string
  readonly topic: string
  readonly key: string | null
  readonly payload: string
  readonly headers: string | null
  /** ms after now(); null for ready now. */
  readonly delayMs: number | null
  readonly availableAt: Date | null
  /** UTF-8 bytes of the payload's and the headers' JSON, for the per-call limit. */
  readonly bytes: number
}
