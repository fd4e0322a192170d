import type { AmqpChannel, AmqpMessage } from './rabbitmq-client.js'
import { AmqpConnectionSlot } from './rabbitmq-connect.js'
import { type ConsumerReport, consumerReport, describe } from './consumer-report.js'
import { DeliveryHandler } from './delivery-handler.js'
import { RabbitmqConsumerError } from './errors/rabbitmq-consumer-error.js'
import type { RabbitmqConsumerOptions } from './rabbitmq-config.js'
import { declareConsumerTopology } from './rabbitmq-consumer-topology.js'
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './rabbitmq-options.js'
import { AnswerBudget, CONNECT_TIMEOUT_MS, STOP_ANSWER_MS, stopUnanswered, withConsumerHeartbeat } from './silent-connection.js'

/** A running consumer, as {@link consumeRabbitmq} returns it. */
export interface RabbitmqConsumer {
  /**
   * Stops gracefully: cancels the consumer (no new message starts), waits for
   * the handlers in flight to finish and be acknowledged, then closes the
   * channel (and the connection, when the consumer opened it). Messages
   * prefetched but not started go back to the queue. Idempotent. Bounded: a
   * handler that does not settle within `handlerTimeoutMs` counts as failed
   * and is left running; RabbitMQ gets 5 s in all to answer the cancel and
   * the closes, after which the consumer's own connection is cut (its unacked
   * messages are delivered again).
   */
  stop(): Promise<void>
}

/**
 * Consumes `queue`: decodes each delivery into a {@link RabbitmqMessage},
 * calls `handler` (through `wrap` when given), and acks once it resolved. When
 * it throws, the message is requeued (nack) until its `maxDeliveries`-th
 * attempt, which is rejected without requeue so the queue's dead-letter
 * exchange takes it. A delivery that cannot be decoded is rejected at once.
 * With `declare`, the queue, its binding and its dead letters are declared on
 * every channel first.
 *
 * Resolves once the consumer is registered. With `url`, a lost channel or
 * connection is re-opened (a new connection when the old one is gone) with
 * backoff until `stop()`. With `connection`, a lost channel is re-opened on
 * it; when your connection closes, the consumer reports it
 * (`RabbitmqConsumerError`, reason `connection-closed`) and stops. Every
 * failure goes to `logger` (default: the console), as with every txbox
 * consumer. A handler that outlives `handlerTimeoutMs` counts as failed.
 *
 * ```ts
 * const consumer = await consumeRabbitmq({
 *   url, queue: 'emails', maxDeliveries: 5,
 *   declare: { exchange: 'events', routingKeys: ['email.*'], deadLetterExchange: 'dead' },
 *   handler: async (m) => sendWelcomeEmail(m.payload),
 *   wrap: (m, run) => processOnce(db, m.messageId, run),
 * })
 * process.on('SIGTERM', () => consumer.stop())
 * ```
 */
export async function consumeRabbitmq<T = unknown>(options: RabbitmqConsumerOptions<T>): Promise<RabbitmqConsumer> {
  const consumer = new RabbitmqQueueConsumer<T>(resolveConsumerOptions(options))
  try {
    await consumer.attach()
  } catch (error) {
    await consumer.stop()
    throw error
  }
  return { stop: () => consumer.stop() }
}

const MAX_RECONNECT_DELAY = 30_000

class RabbitmqQueueConsumer<T> {
  private readonly o: ResolvedConsumerOptions<T>
  private readonly connections: AmqpConnectionSlot
  private channel: AmqpChannel | undefined
  private consumerTag: string | undefined
  private readonly inFlight = new Set<Promise<void>>()
  private readonly report: ConsumerReport<T>
  private readonly deliveries: DeliveryHandler<T>
  private attaching: Promise<void> | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private reconnectDelay: number
  private stopping: Promise<void> | undefined
  /** Set when the user's connection closed: nothing can be re-opened on it. */
  private givenConnectionClosed = false
  private readonly onGivenConnectionClose = () => this.givenConnectionLost()

  constructor(options: ResolvedConsumerOptions<T>) {
    this.connections = new AmqpConnectionSlot(options.connection, options.url && withConsumerHeartbeat(options.url), options.connectionName, CONNECT_TIMEOUT_MS)
    this.o = options
    this.report = consumerReport(options)
    this.deliveries = new DeliveryHandler(options, this.report)
    this.reconnectDelay = options.reconnectDelay
    // amqplib connections never re-open: once the user's has closed, retrying
    // on it would loop forever with the queue left without a consumer.
    options.connection?.on('close', this.onGivenConnectionClose)
  }

  attach(): Promise<void> {
    this.attaching = this.open().finally(() => {
      this.attaching = undefined
    })
    return this.attaching
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown()
    return this.stopping
  }

  private async open(): Promise<void> {
    const connection = await this.connections.get()
    // Stopped meanwhile: close what just opened (createChannel then fails).
    if (this.stopping) await this.connections.close(new AnswerBudget(STOP_ANSWER_MS))
    let channel: AmqpChannel
    try {
      channel = await connection.createChannel()
    } catch (error) {
      // The connection is unusable (closed under us, or never to answer):
      // with our own, open a new one next time instead of retrying on it.
      await this.connections.close()
      throw error
    }
    let lastError: Error | undefined
    channel.on('error', (error) => {
      lastError = error
    })
    channel.on('close', () => {
      if (this.channel !== channel) return
      this.channel = undefined
      this.consumerTag = undefined
      if (this.stopping || this.givenConnectionClosed) return
      const reason = lastError ? ` (${lastError.message})` : ''
      this.report('error', new RabbitmqConsumerError('channel-lost', `consumeRabbitmq: lost the channel on queue "${this.o.queue}"${reason}; re-opening it.`, { cause: lastError }))
      this.scheduleReconnect()
    })
    try {
      if (this.o.declare) await declareConsumerTopology(channel, this.o.queue, this.o.declare)
      await channel.prefetch(this.o.prefetch)
      if (this.stopping) throw new Error('consumeRabbitmq: stopped while starting.')
      const { consumerTag } = await channel.consume(this.o.queue, (delivery) => this.onDelivery(channel, delivery), { noAck: false })
      // Ours from here: a channel that fails while opening is the caller's
      // failure to report (attach rejects), not a lost channel to re-open.
      this.channel = channel
      this.consumerTag = consumerTag
    } catch (error) {
      await channel.close().catch(() => {})
      throw error
    }
    this.reconnectDelay = this.o.reconnectDelay
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.givenConnectionClosed || this.reconnectTimer) return
    const delay = this.reconnectDelay
    this.reconnectDelay = Math.min(delay * 2, MAX_RECONNECT_DELAY)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.stopping || this.givenConnectionClosed) return
      this.attach().catch((error) => {
        if (this.givenConnectionClosed) return
        this.report(
          'error',
          new RabbitmqConsumerError('channel-lost', `consumeRabbitmq: could not re-open a channel on queue "${this.o.queue}": ${describe(error)}; retrying in ${this.reconnectDelay} ms.`, {
            cause: error,
          }),
        )
        this.scheduleReconnect()
      })
    }, delay)
  }

  private givenConnectionLost(): void {
    if (this.stopping || this.givenConnectionClosed) return
    this.givenConnectionClosed = true
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.channel = undefined
    this.consumerTag = undefined
    this.report(
      'error',
      new RabbitmqConsumerError(
        'connection-closed',
        `consumeRabbitmq: the connection you passed closed, so queue "${this.o.queue}" is no longer consumed; the consumer cannot reopen a connection it does not own and has stopped. Open a new connection and consumer, or pass url to have it reconnect by itself.`,
      ),
    )
  }

  private onDelivery(channel: AmqpChannel, delivery: AmqpMessage | null): void {
    if (delivery === null) {
      // The broker cancelled us (the queue was deleted): start over on a new channel.
      this.report('error', new RabbitmqConsumerError('cancelled', `consumeRabbitmq: RabbitMQ cancelled the consumer of queue "${this.o.queue}" (was it deleted?).`))
      channel.close().catch(() => {})
      return
    }
    // Not started after stop(): closing the channel gives it back to the queue.
    if (this.stopping) return
    const task = this.deliveries.handle(channel, delivery)
    this.inFlight.add(task)
    task.finally(() => this.inFlight.delete(task))
  }

  private async shutDown(): Promise<void> {
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.o.connection?.removeListener('close', this.onGivenConnectionClose)
    // A silent connection (cut network, frozen broker) answers nothing until its heartbeat gives up.
    const answers = new AnswerBudget(STOP_ANSWER_MS, () => this.report('error', stopUnanswered(this.o.queue, STOP_ANSWER_MS, !this.o.connection)))
    await answers.wait(this.attaching)
    const channel = this.channel
    // Bounded: each handler call gives up after handlerTimeoutMs.
    if (channel && this.consumerTag !== undefined) await answers.wait(channel.cancel(this.consumerTag))
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    this.channel = undefined
    if (channel) await answers.wait(channel.close())
    await this.connections.close(answers)
  }
}
