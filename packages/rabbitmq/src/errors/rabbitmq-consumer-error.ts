import { TxboxError } from '@txbox/core'

/** What went wrong, for {@link RabbitmqConsumerError}. */
export type RabbitmqConsumerFailure =
  /** The channel or the connection was lost; the consumer re-opens it (backoff) and goes on. */
  | 'channel-lost'
  /**
   * The connection you passed (`connection` option) closed. An amqplib
   * connection never re-opens, so the consumer has stopped: open a new
   * connection and consumer, or pass `url` and let it reconnect by itself.
   */
  | 'connection-closed'
  /**
   * An ack, nack or reject could not be sent: its channel had closed. RabbitMQ
   * puts the message back and delivers it again (the attempt still counts).
   */
  | 'settle-failed'
  /**
   * A message arrived again after its `maxDeliveries` attempts (its reject was
   * lost with the connection): rejected again without running the handler.
   */
  | 'deliveries-exhausted'
  /** RabbitMQ cancelled the consumer (the queue was deleted?); it re-opens its channel. */
  | 'cancelled'
  /**
   * stop() got no answer from RabbitMQ within 5 s (the connection went
   * silent: a cut network, a frozen broker) and returned; it cut its own
   * connection. Messages it had not acked are delivered again.
   */
  | 'unanswered'

/**
 * A consumer event passed to `onError` (never thrown), code
 * `RABBITMQ_CONSUMER`: `reason` says which. Only `connection-closed` ends the
 * consumer; for the others it recovers by itself.
 */
export class RabbitmqConsumerError extends TxboxError {
  readonly reason: RabbitmqConsumerFailure

  constructor(reason: RabbitmqConsumerFailure, message: string, options?: { cause?: unknown }) {
    super('RABBITMQ_CONSUMER', message, options)
    this.reason = reason
  }
}
