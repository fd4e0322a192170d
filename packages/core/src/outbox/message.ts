/**
 * A message to record in the outbox.
 *
 * Every string in it, the payload's included, must be well-formed Unicode
 * without U+0000: an unpaired surrogate (half an emoji, as `slice()` can
 * leave) or U+0000 is refused, since PostgreSQL cannot store it as given.
 */
export interface OutboxMessageInput {
  /**
   * Where it goes: the Redis stream or the AMQP routing key, by default.
   * Non-blank, at most 255 bytes of UTF-8 (an AMQP short string: 255 ASCII
   * characters, 127 × 'é', 63 emoji).
   */
  topic: string
  /**
   * Any JSON-serialisable value, at most `maxPayloadBytes` as JSON text.
   * Stored as jsonb; published as JSON text. A Map, a Set, a BigInt, a
   * function, `NaN` or a cycle is refused (PayloadNotJsonError).
   */
  payload: unknown
  /**
   * Ordering key. Messages with the same key are published in the order their
   * transactions committed; messages without one are unordered. Non-empty, at
   * most 255 bytes of UTF-8.
   */
  key?: string | null
  /**
   * String headers, carried to the broker (AMQP headers, a Redis stream
   * field). Values must be strings; names are non-empty, at most 255 bytes of
   * UTF-8, and must not start with `txbox-`.
   */
  headers?: Record<string, string>
  /**
   * Publish no earlier than this many milliseconds after the enqueue (the
   * INSERT statement's time). Finite, ≥ 0, ending before year 275760.
   */
  delay?: number
  /** Publish no earlier than this time (from 4714-11-24 BC; a past time means now). Exclusive with `delay`. */
  availableAt?: Date
  /**
   * Your idempotency key. Enqueuing a messageId that is still waiting in the
   * outbox again is a no-op that returns the same id. Non-blank, at most 255
   * bytes of UTF-8. Default: a new UUIDv7.
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
