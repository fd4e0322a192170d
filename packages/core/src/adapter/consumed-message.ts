/**
 * What every adapter's consumer hands its handler (`RedisStreamMessage`,
 * `RabbitmqMessage`, `NatsMessage` extend it with where the message was
 * read): the message as it was enqueued, decoded from the broker's wire
 * format, and how often it was delivered.
 */
export interface ConsumedMessage<T = unknown> {
  /** The outbox message id: stable across redeliveries and republishes. Drop duplicates by it (`processOnce` does). */
  readonly messageId: string
  /** The topic given at enqueue. */
  readonly topic: string
  /** The ordering key, or `null` for an unkeyed message. */
  readonly key: string | null
  /** The payload, parsed from the JSON text the relay published. */
  readonly payload: T
  /** The headers given at enqueue (W3C `traceparent` / `tracestate` included when captured), without txbox's and the broker's own. */
  readonly headers: Readonly<Record<string, string>>
  /** Which delivery of this message this is, from 1 (how the broker counts it: see the adapter's `maxDeliveries`). */
  readonly deliveries: number
}
