import type { AmqpMessage } from './amqp-types.js'

/** Messages whose attempts we remember, bounded: the least recently attempted go first. */
const MAX_REMEMBERED = 10_000

/**
 * Counts the attempts of each message (handler runs started), by message id,
 * in this process and across its reconnects.
 *
 * The attempt is counted when the handler starts, not when its nack or reject
 * is sent: a settle sent on a channel that is closing is lost, and RabbitMQ
 * delivers the message again. Counting failures at the settle (and forgetting
 * the message at its last reject) restarted such a message at 2 on the new
 * connection (maxDeliveries 3 → 5 handler runs). A message is forgotten only
 * once acked; after its last attempt it is remembered, so a lost reject is sent
 * again without running the handler.
 */
export class DeliveryAttempts {
  private readonly started = new Map<string, number>()

  /**
   * Which attempt this delivery is, from 1: one more than the attempts
   * started here, or than RabbitMQ's count (quorum queues' `x-delivery-count`,
   * which also counts other consumers' attempts), whichever is higher. A
   * delivery RabbitMQ does not flag as redelivered is a new copy: attempt 1.
   */
  attemptOf(delivery: AmqpMessage, messageId: string): number {
    const brokerCount = delivery.properties.headers?.['x-delivery-count']
    const redelivered = delivery.fields.redelivered === true
    const byBroker = typeof brokerCount === 'number' ? brokerCount + 1 : redelivered ? 2 : 1
    const byUs = redelivered ? (this.started.get(messageId) ?? 0) + 1 : 1
    return Math.max(byBroker, byUs)
  }

  /** The handler starts attempt `attempt` of `messageId`. */
  begin(messageId: string, attempt: number): void {
    this.started.delete(messageId)
    this.started.set(messageId, attempt)
    if (this.started.size > MAX_REMEMBERED) {
      const oldest = this.started.keys().next().value
      if (oldest !== undefined) this.started.delete(oldest)
    }
  }

  /** The message was handled and acked: nothing left to count. */
  forget(messageId: string): void {
    this.started.delete(messageId)
  }
}
