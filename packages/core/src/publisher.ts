/**
 * One outbox row, as the relay hands it to a {@link Publisher}.
 *
 * The payload stays JSON text end to end: the relay reads `payload::text`, so
 * a publisher can forward it without a parse and a re-serialise per message.
 */
export interface OutboxMessage {
  /** The row's sequence number (a bigint, as a decimal string). Orders messages of one key. */
  readonly id: string
  /** Stable id, carried to the broker so consumers can drop duplicates. */
  readonly messageId: string
  readonly topic: string
  /** Ordering key; `null` for unordered messages. */
  readonly key: string | null
  /** The payload as JSON text. */
  readonly payload: string
  /** Headers given at enqueue, plus W3C trace context (`traceparent`, `tracestate`) when captured. */
  readonly headers: Readonly<Record<string, string>>
  /** Failed attempts before this one. */
  readonly attempts: number
  /** When the message was enqueued (its transaction's start time). */
  readonly createdAt: Date
}

/** The outcome of publishing one message. */
export type PublishResult =
  | { readonly ok: true }
  | {
      readonly ok: false
      readonly error: Error
      /**
       * The broker will never accept this message as it is (a malformed
       * message, a rejected size). The relay moves it to the dead letters at
       * once instead of retrying. Leave unset for anything that may pass on a
       * later try: a broken connection, an unroutable message, a full broker.
       */
      readonly permanent?: boolean
      /**
       * The broker was not reached: no connection, the connection or
       * channel lost before the broker confirmed, the publisher closed. Not
       * the message's fault: the relay puts it back without counting an
       * attempt, waits (backing off, and saying so in its log and its
       * `unreachable` event), and tries again, however long the outage
       * lasts. Leave unset for what the broker said about this message
       * (refused, unroutable, too large): those spend attempts. A `publish`
       * that rejects, or a call that outlives `publishTimeout`, counts as a
       * transport failure for all its messages.
       */
      readonly transport?: boolean
    }

/** What the relay passes with every {@link Publisher.publish} call. */
export interface PublishContext {
  /**
   * Aborted when the relay gives up on the call (the publish timeout). A
   * publisher should stop waiting then; whatever it has not confirmed counts
   * as failed and is retried.
   */
  readonly signal: AbortSignal
}

/**
 * Sends outbox messages to a broker. The core knows nothing else about
 * brokers: an adapter package implements this for Redis, RabbitMQ, ...
 *
 * A publisher owns its connections; the contract exposes no client type.
 */
export interface Publisher {
  /**
   * Publishes `messages` in the given order and resolves to one result per
   * message, at the same index.
   *
   * A message may be reported `ok` only once the broker has confirmed it
   * (a Redis reply, an AMQP ack): the relay deletes confirmed messages from the
   * outbox for good. Per-message failures are reported in the results, not by
   * rejecting; a rejection means nothing was confirmed and fails the whole
   * call. Send the batch in one round trip (a pipeline, a confirm window);
   * never one round trip per message.
   *
   * With `blockKeyOnFailure` on (the default), the relay never passes two
   * messages with the same key in one call; with it off, a call can carry
   * several messages of one key, in order.
   */
  publish(messages: readonly OutboxMessage[], context: PublishContext): Promise<readonly PublishResult[]>

  /**
   * Set when `publish` itself never publishes a message once an earlier
   * message with the same key failed in the same call (it reports such
   * messages as failed, unsent). A broker-side script can promise this (the
   * Redis publisher does); a pipeline of independent commands cannot.
   *
   * With it, the relay sends each batch in one call. Without it, to keep
   * per-key order under failure, the relay sends a batch in waves of at most
   * one message per key, one call per wave.
   */
  readonly stopsKeyOnFailure?: boolean

  /**
   * The broker's name in traces: the `messaging.system` attribute of the
   * relay's OpenTelemetry `send` spans ('redis', 'rabbitmq', 'nats',
   * 'bullmq'). Default 'txbox'.
   */
  readonly messagingSystem?: string

  /** Releases what the publisher opened itself. Idempotent. Optional. */
  close?(): Promise<void>
}
