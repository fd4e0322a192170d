import type { Logger, OutboxMessage } from '@txbox/core'
import type { HandlerContext } from '@txbox/core/adapter'
import type { AmqpConnection } from './rabbitmq-client.js'
import type { RabbitmqMessage } from './rabbitmq-message.js'

/**
 * Where to connect: either a URL (the publisher or consumer then opens and
 * owns its connection, re-opens it after a failure and closes it on
 * `close()` / `stop()`), or a connection you own (an amqplib `ChannelModel`;
 * only the channel is ours, and your connection stays open when we stop).
 */
export type RabbitmqConnectionOptions =
  | {
      /** `amqp://user:pass@host:5672/vhost`. */
      url: string
      connection?: undefined
      /** The connection's name in the management UI and `rabbitmqctl list_connections`. */
      connectionName?: string
    }
  | {
      /** Your amqplib connection (`await amqplib.connect(url)`). You close it. */
      connection: AmqpConnection
      url?: undefined
      connectionName?: undefined
    }

/** Options of {@link rabbitmqPublisher}. */
export type RabbitmqPublisherOptions = RabbitmqConnectionOptions & {
  /**
   * The exchange every message is published to. `''` is RabbitMQ's default
   * exchange (routing key = queue name); it is never asserted.
   */
  exchange: string
  /**
   * The routing key: a fixed string, or a function of the message.
   * Default: the message's topic. At most 255 bytes of UTF-8 (AMQP's limit):
   * a message whose routing key is longer is refused as permanent.
   */
  routingKey?: string | ((message: OutboxMessage) => string)
  /**
   * Whether to declare the exchange as a durable `topic` exchange each time a
   * channel opens (idempotent when it exists with those settings). Default
   * true. Set false when you declare the exchange yourself, e.g. with another
   * type: declaring an existing exchange with a different type fails.
   */
  assertExchange?: boolean
  /**
   * Send a batch in one confirm window even when it holds several messages of
   * one key. Default false: the relay then sends a batch in per-key waves, a
   * key's next message only after RabbitMQ confirmed its previous one, which
   * keeps per-key order when RabbitMQ refuses a message, at one round trip
   * per message of the batch's busiest key.
   *
   * The trade: when RabbitMQ refuses a message (a basic.nack, e.g. a full
   * queue with `overflow: reject-publish`, or a basic.return of an
   * unroutable message), later messages of its key in the same batch may
   * already be routed: they reach consumers before the refused message's
   * retry. Later batches still wait behind it (`blockKeyOnFailure`), and a
   * lost channel or connection reorders nothing (a channel's publishes are
   * routed in order, and what was not confirmed is sent again). The
   * publisher declares `stopsKeyOnFailure` to the relay for this.
   */
  pipelineKeys?: boolean
}

/** The `declare` option of {@link consumeRabbitmq}: what the consumer declares before it consumes. */
export interface RabbitmqConsumerDeclaration {
  /**
   * The exchange the queue is bound to, declared as `rabbitmqPublisher`
   * declares it (a durable topic exchange), so that a worker may start before
   * any relay did. If yours has another type, declare everything yourself.
   */
  exchange: string
  /** The routing keys (topic patterns) bound. Default `['#']`: every message of the exchange. */
  routingKeys?: string | readonly string[]
  /** The queue's type. Default `'quorum'`, which counts deliveries exactly (see `maxDeliveries`). */
  queueType?: 'quorum' | 'classic'
  /**
   * Where rejected messages go: declared as a durable direct exchange, with a
   * queue `<queue>.dead` bound to it that keeps this queue's dead letters.
   * Default: none (RabbitMQ drops a message rejected after `maxDeliveries`).
   */
  deadLetterExchange?: string
}

/** Options of {@link consumeRabbitmq}. */
export type RabbitmqConsumerOptions<T = unknown> = RabbitmqConnectionOptions & {
  /** The queue to consume. Declare it (and its bindings, and its dead-letter exchange) yourself, or pass `declare`. */
  queue: string
  /**
   * Declares the queue, its binding to `exchange` and its dead letters each
   * time a channel opens (idempotent). Without it, the queue must exist.
   */
  declare?: RabbitmqConsumerDeclaration
  /**
   * Processes one message. Resolve to ack it; throw (or outlive
   * `handlerTimeoutMs`) to have it redelivered (or dead-lettered after
   * `maxDeliveries`). `context.signal` aborts when it timed out.
   */
  handler: RabbitmqHandler<T>
  /** Unacknowledged messages in flight at once (basic.qos), which is also the handler concurrency. Default 10. */
  prefetch?: number
  /**
   * Deliveries of one message before it is rejected without requeue (so the
   * queue's dead-letter exchange, if any, takes it). Default 5. Counted with
   * the `x-delivery-count` header on quorum queues (exact, across consumers
   * and restarts); on classic queues in this process only (see the docs).
   */
  maxDeliveries?: number
  /**
   * Runs the handler inside something, typically the inbox:
   * `wrap: (m, run) => processOnce(db, m.messageId, run)`, so that a
   * redelivered message is skipped and the handler's writes commit with its
   * inbox record. The message is acked when the returned promise resolves.
   * `handlerTimeoutMs` covers `wrap` and handler together.
   */
  wrap?: (message: RabbitmqMessage<T>, run: () => Promise<void>) => Promise<unknown>
  /**
   * How long one handler call (with `wrap`) may take, in ms. After that its
   * signal aborts, the delivery counts as failed (requeued, or rejected to
   * the dead letters on its `maxDeliveries`-th attempt) and the consumer
   * moves on; a handler that never settles is left behind. Also bounds how
   * long `stop()` waits for the handlers in flight. Default 30000.
   */
  handlerTimeoutMs?: number
  /**
   * Where the consumer logs failed handlers, dead letters, undecodable
   * deliveries and lost channels or connections (levels `warn` and `error`;
   * each message starts with `txbox rabbitmq consumer:`, and `err` carries the
   * error: a {@link RabbitmqConsumerError} whose `reason` says which, an
   * {@link UndecodableMessageError}, or what the handler threw). pino fits.
   * Default: the console (`consoleLogger` of @txbox/core), unless `onError`
   * is given. The same contract as the Redis and NATS consumers.
   */
  logger?: Logger
  /**
   * @deprecated Use `logger`, as the other adapters' consumers do. Still
   * told about every failure, with the error and the message (when there is
   * one); when given without `logger`, nothing goes to the console.
   */
  onError?: (error: unknown, message: RabbitmqMessage<T> | undefined) => void
  /** First delay before re-opening a lost channel or connection, in ms (doubling up to 30 s). Default 500. */
  reconnectDelay?: number
}

/** Handles one message (see `handler` of {@link consumeRabbitmq}). */
export type RabbitmqHandler<T = unknown> = (message: RabbitmqMessage<T>, context: HandlerContext) => Promise<void> | void
