import { callHandler, processedBefore, timedOut } from '@txbox/core/adapter'
import type { AmqpChannel, AmqpMessage } from './rabbitmq-client.js'
import { type ConsumerReport, describe } from './consumer-report.js'
import { DeliveryAttempts } from './delivery-attempts.js'
import { RabbitmqConsumerError } from './errors/rabbitmq-consumer-error.js'
import { RabbitmqHandlerTimeoutError } from './errors/rabbitmq-handler-timeout-error.js'
import type { ResolvedConsumerOptions } from './rabbitmq-options.js'
import { decodeMessage, type RabbitmqMessage } from './rabbitmq-message.js'

/**
 * What the consumer does with each delivery, on whichever channel it came:
 * decode it, run the handler (through `wrap`) once per attempt, and ack,
 * requeue or reject it. What it knows of each message id (attempts started,
 * handled, the run in progress) outlives channels and connections, since a
 * settle lost with a channel brings the message back on the next one.
 */
export class DeliveryHandler<T> {
  private readonly attempts = new DeliveryAttempts()
  /** The run in progress of each message id: a redelivery waits for it (see handle). */
  private readonly running = new Map<string, Promise<void>>()

  constructor(
    private readonly o: ResolvedConsumerOptions<T>,
    private readonly report: ConsumerReport<T>,
  ) {}

  /** Handles one delivery to its settle. Never rejects. */
  async handle(channel: AmqpChannel, delivery: AmqpMessage): Promise<void> {
    let message: RabbitmqMessage<T>
    try {
      const id = delivery.properties.messageId
      message = decodeMessage<T>(delivery, typeof id === 'string' ? this.attempts.attemptOf(delivery, id) : 1)
    } catch (error) {
      this.report('error', error)
      this.settle(channel, delivery, 'reject', undefined)
      return
    }
    // Redelivered while its run here still goes (the channel was lost): decide once that run ended,
    // or the running attempt counts as spent and failed, dead-lettering a message that then succeeds.
    for (let running = this.running.get(message.messageId); running; running = this.running.get(message.messageId)) await running
    if (this.attempts.handledBefore(delivery, message.messageId)) {
      // Handled here already; only its ack was lost with a channel. Running the
      // handler again could not help, and counting it could dead-letter it.
      this.settle(channel, delivery, 'ack', message)
      return
    }
    // Only attempts known to have run here exhaust a message: RabbitMQ's count
    // also grows for deliveries returned unstarted, and every message gets a run.
    if (this.attempts.startedHere(delivery, message.messageId) >= this.o.maxDeliveries) {
      await this.settleExhausted(channel, delivery, message)
      return
    }
    const attempt = this.attempt(channel, delivery, message)
    this.running.set(message.messageId, attempt)
    await attempt
    if (this.running.get(message.messageId) === attempt) this.running.delete(message.messageId)
  }

  /**
   * A delivery back after its last attempt here: rejected to the dead letters
   * without a run, unless `wrap` (processOnce) has the message processed
   * already, by another consumer whose ack was lost: then it is acked.
   */
  private async settleExhausted(channel: AmqpChannel, delivery: AmqpMessage, message: RabbitmqMessage<T>): Promise<void> {
    const o = this.o
    const check = await processedBefore({
      message,
      wrap: o.wrap,
      timeoutMs: o.handlerTimeoutMs,
      timeoutError: () => new RabbitmqHandlerTimeoutError(message.messageId, o.handlerTimeoutMs),
      messaging: { system: 'rabbitmq', destination: o.queue, messageId: message.messageId, headers: message.headers },
    })
    if (check.processed) {
      this.report('warn', undefined, message, `message came back after its ${o.maxDeliveries} attempts here, and wrap found it processed already (its ack was lost); acked`)
      this.settle(channel, delivery, 'ack', message)
      return
    }
    const failedCheck = check.error === undefined ? '' : ` (wrap could not tell whether it was processed: ${describe(check.error)})`
    this.report(
      'error',
      new RabbitmqConsumerError(
        'deliveries-exhausted',
        `consumeRabbitmq: message ${message.messageId} came back after its ${o.maxDeliveries} attempts (its reject was lost with the channel); rejected again without running the handler${failedCheck}.`,
        check.error === undefined ? undefined : { cause: check.error },
      ),
      message,
    )
    this.settle(channel, delivery, 'reject', message)
  }

  /** One run of the handler, and the settle of its delivery. Never rejects. */
  private async attempt(channel: AmqpChannel, delivery: AmqpMessage, message: RabbitmqMessage<T>): Promise<void> {
    this.attempts.begin(message.messageId, message.deliveries)
    const o = this.o
    const outcome = await callHandler({
      message,
      handler: o.handler,
      wrap: o.wrap,
      timeoutMs: o.handlerTimeoutMs,
      timeoutError: () => new RabbitmqHandlerTimeoutError(message.messageId, o.handlerTimeoutMs),
    })
    if (!outcome.ok) {
      const last = message.deliveries >= o.maxDeliveries
      if (timedOut(outcome)) {
        void outcome.settled.then((late) =>
          this.report('warn', late.ok ? undefined : late.error, message, 'a handler that had timed out settled late; its delivery had already counted as failed'),
        )
      }
      this.report(
        last ? 'error' : 'warn',
        outcome.error,
        message,
        last
          ? `handler failed on delivery ${message.deliveries} of ${o.maxDeliveries} (${describe(outcome.error)}); rejected to the queue's dead letters`
          : `handler failed on delivery ${message.deliveries} of ${o.maxDeliveries} (${describe(outcome.error)}); requeued`,
      )
      this.settle(channel, delivery, last ? 'reject' : 'requeue', message)
      return
    }
    this.attempts.handled(message.messageId)
    this.settle(channel, delivery, 'ack', message)
  }

  /**
   * Acks, requeues (nack) or rejects without requeue (so the dead-letter
   * exchange takes it). On a channel that closed meanwhile this throws, and
   * RabbitMQ delivers the message again: reported, since that redelivery
   * counts as an attempt. Returns whether it was sent.
   */
  private settle(channel: AmqpChannel, delivery: AmqpMessage, how: 'ack' | 'requeue' | 'reject', message: RabbitmqMessage<T> | undefined): boolean {
    try {
      if (how === 'ack') channel.ack(delivery)
      else if (how === 'requeue') channel.nack(delivery, false, true)
      else channel.reject(delivery, false)
      return true
    } catch (error) {
      const id = delivery.properties.messageId ?? '(no messageId)'
      const verb = how === 'ack' ? 'ack' : how === 'requeue' ? 'requeue (nack)' : 'reject'
      this.report(
        'error',
        new RabbitmqConsumerError('settle-failed', `consumeRabbitmq: could not ${verb} message ${id}: ${describe(error)}; RabbitMQ delivers it again.`, { cause: error }),
        message,
      )
      return false
    }
  }
}
