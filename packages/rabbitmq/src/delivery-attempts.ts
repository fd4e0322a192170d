import type { AmqpMessage } from './rabbitmq-client.js'

/** Messages we remember, bounded: the least recently seen go first. */
const MAX_REMEMBERED = 10_000

/** What this process knows of a message id. */
interface Seen {
  /** Handler runs started (attempts). */
  attempts: number
  /** A handler run resolved: the message is handled, whatever became of its ack. */
  handled: boolean
}

/**
 * Counts the attempts of each message (handler runs started), by message id,
 * in this process and across its reconnects.
 *
 * An attempt counts when the handler starts, not when its nack or reject is
 * sent: a settle sent on a channel that is closing is lost, and RabbitMQ
 * delivers the message again. Counting failures at the settle (and forgetting
 * the message at its last reject) restarted such a message at 2 on the new
 * connection (maxDeliveries 3 → 5 handler runs). So a message is remembered
 * after its last attempt, and a lost reject is sent again without a run; and
 * one whose handler succeeded is remembered as handled, so that a lost ack
 * never makes its redelivery count as one attempt too many (dead-lettering a
 * message that was handled).
 */
export class DeliveryAttempts {
  private readonly seen = new Map<string, Seen>()

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
    const byUs = redelivered ? (this.seen.get(messageId)?.attempts ?? 0) + 1 : 1
    return Math.max(byBroker, byUs)
  }

  /**
   * Attempts of this message this process started already (0 for a new
   * copy). Unlike {@link attemptOf}, only runs known to have happened:
   * RabbitMQ's count also grows for deliveries returned unstarted (prefetched
   * when a connection dropped).
   */
  startedHere(delivery: AmqpMessage, messageId: string): number {
    return delivery.fields.redelivered === true ? (this.seen.get(messageId)?.attempts ?? 0) : 0
  }

  /** Whether this delivery is one this process handled already, back because its ack was lost. */
  handledBefore(delivery: AmqpMessage, messageId: string): boolean {
    return delivery.fields.redelivered === true && this.seen.get(messageId)?.handled === true
  }

  /** The handler starts attempt `attempt` of `messageId`. */
  begin(messageId: string, attempt: number): void {
    this.remember(messageId, { attempts: attempt, handled: false })
  }

  /** The handler resolved. */
  handled(messageId: string): void {
    const seen = this.seen.get(messageId)
    if (seen) seen.handled = true
  }

  private remember(messageId: string, seen: Seen): void {
    this.seen.delete(messageId)
    this.seen.set(messageId, seen)
    if (this.seen.size > MAX_REMEMBERED) {
      const oldest = this.seen.keys().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
  }
}
