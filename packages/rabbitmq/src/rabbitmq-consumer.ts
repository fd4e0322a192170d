import type { AmqpChannel, AmqpConnection, AmqpMessage } from './amqp-types.js'
import { AmqpConnectionSlot } from './connect-amqp.js'
import { type RabbitmqConsumerOptions, type ResolvedConsumerOptions, resolveConsumerOptions } from './rabbitmq-config.js'
import { decodeMessage, type RabbitmqMessage } from './rabbitmq-message.js'

/** A running consumer, as {@link consumeRabbitmq} returns it. */
export interface RabbitmqConsumer {
  /**
   * Stops gracefully: cancels the consumer (no new message starts), waits for
   * the handlers in flight to finish and be acknowledged, then closes the
   * channel (and the connection, when the consumer opened it). Messages
   * prefetched but not started go back to the queue. Idempotent.
   */
  stop(): Promise<void>
}

/**
 * Consumes `queue`: decodes each delivery into a {@link RabbitmqMessage},
 * calls `handler` (through `wrap` when given), and acks once it resolved. When
 * it throws, the message is requeued (nack) until its `maxDeliveries`-th
 * delivery, which is rejected without requeue so the queue's dead-letter
 * exchange takes it. A delivery that cannot be decoded is rejected at once.
 * Resolves once the consumer is registered; a lost channel or connection is
 * re-opened with backoff until `stop()`.
 *
 * ```ts
 * const consumer = await consumeRabbitmq({
 *   url, queue: 'emails', maxDeliveries: 5,
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

/** Redeliveries we counted ourselves (classic queues), bounded: the oldest entries go first. */
const MAX_COUNTED = 10_000
const MAX_RECONNECT_DELAY = 30_000

class RabbitmqQueueConsumer<T> {
  private readonly o: ResolvedConsumerOptions<T>
  private readonly connections: AmqpConnectionSlot
  private channel: AmqpChannel | undefined
  private consumerTag: string | undefined
  private readonly inFlight = new Set<Promise<void>>()
  /** Failed deliveries per message id, for queues that do not count them (classic queues). */
  private readonly failedDeliveries = new Map<string, number>()
  private attaching: Promise<void> | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private reconnectDelay: number
  private stopping: Promise<void> | undefined

  constructor(options: ResolvedConsumerOptions<T>) {
    this.connections = new AmqpConnectionSlot(options.connection, options.url, options.connectionName)
    // A throwing onError must not skip the ack / nack that follows it.
    const report = options.onError
    this.o = {
      ...options,
      onError: (error, message) => {
        try {
          report(error, message)
        } catch {
          // the user's reporter failed; the message is settled all the same
        }
      },
    }
    this.reconnectDelay = options.reconnectDelay
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
    const connection = await this.connection()
    const channel = await connection.createChannel()
    let lastError: Error | undefined
    channel.on('error', (error) => {
      lastError = error
    })
    channel.on('close', () => {
      if (this.channel !== channel) return
      this.channel = undefined
      this.consumerTag = undefined
      if (this.stopping) return
      this.o.onError(new Error(`consumeRabbitmq: lost the channel on queue "${this.o.queue}"${lastError ? ` (${lastError.message})` : ''}; re-opening it.`, { cause: lastError }), undefined)
      this.scheduleReconnect()
    })
    try {
      await channel.prefetch(this.o.prefetch)
      if (this.stopping) throw new Error('consumeRabbitmq: stopped while starting.')
      this.channel = channel
      const { consumerTag } = await channel.consume(this.o.queue, (delivery) => this.onDelivery(channel, delivery), { noAck: false })
      this.consumerTag = consumerTag
    } catch (error) {
      if (this.channel === channel) this.channel = undefined
      await channel.close().catch(() => {})
      throw error
    }
    this.reconnectDelay = this.o.reconnectDelay
  }

  private async connection(): Promise<AmqpConnection> {
    const connection = await this.connections.get()
    if (this.stopping) await this.connections.close()
    return connection
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer) return
    const delay = this.reconnectDelay
    this.reconnectDelay = Math.min(delay * 2, MAX_RECONNECT_DELAY)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.stopping) return
      this.attach().catch((error) => {
        this.o.onError(error, undefined)
        this.scheduleReconnect()
      })
    }, delay)
  }

  private onDelivery(channel: AmqpChannel, delivery: AmqpMessage | null): void {
    if (delivery === null) {
      // The broker cancelled us (the queue was deleted): start over on a new channel.
      this.o.onError(new Error(`consumeRabbitmq: RabbitMQ cancelled the consumer of queue "${this.o.queue}" (was it deleted?).`), undefined)
      channel.close().catch(() => {})
      return
    }
    // Not started after stop(): closing the channel gives it back to the queue.
    if (this.stopping) return
    const task = this.handle(channel, delivery)
    this.inFlight.add(task)
    task.finally(() => this.inFlight.delete(task))
  }

  private async handle(channel: AmqpChannel, delivery: AmqpMessage): Promise<void> {
    let message: RabbitmqMessage<T>
    try {
      message = decodeMessage<T>(delivery, this.deliveriesOf(delivery))
    } catch (error) {
      this.o.onError(error, undefined)
      settle(() => channel.reject(delivery, false))
      return
    }
    try {
      const run = () => this.o.handler(message)
      await (this.o.wrap ? this.o.wrap(message, run) : run())
    } catch (error) {
      this.o.onError(error, message)
      if (message.deliveries >= this.o.maxDeliveries) {
        this.failedDeliveries.delete(message.messageId)
        settle(() => channel.reject(delivery, false))
      } else {
        this.countFailure(delivery, message)
        settle(() => channel.nack(delivery, false, true))
      }
      return
    }
    this.failedDeliveries.delete(message.messageId)
    settle(() => channel.ack(delivery))
  }

  /**
   * Quorum queues count deliveries in the `x-delivery-count` header (absent on
   * the first one): exact, whichever consumer had the message. Classic queues
   * only flag a redelivery, so we count the failures this process saw; a
   * message redelivered after another consumer failed counts as its 2nd.
   */
  private deliveriesOf(delivery: AmqpMessage): number {
    const counted = delivery.properties.headers?.['x-delivery-count']
    if (typeof counted === 'number') return counted + 1
    if (!delivery.fields.redelivered) return 1
    const id = delivery.properties.messageId
    const failed = id === undefined ? 0 : (this.failedDeliveries.get(id) ?? 0)
    return Math.max(2, failed + 1)
  }

  private countFailure(delivery: AmqpMessage, message: RabbitmqMessage<T>): void {
    if (typeof delivery.properties.headers?.['x-delivery-count'] === 'number') return
    this.failedDeliveries.delete(message.messageId)
    this.failedDeliveries.set(message.messageId, message.deliveries)
    if (this.failedDeliveries.size > MAX_COUNTED) {
      const oldest = this.failedDeliveries.keys().next().value
      if (oldest !== undefined) this.failedDeliveries.delete(oldest)
    }
  }

  private async shutDown(): Promise<void> {
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    await this.attaching?.catch(() => {})
    const channel = this.channel
    if (channel && this.consumerTag !== undefined) await channel.cancel(this.consumerTag).catch(() => {})
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    this.channel = undefined
    if (channel) await channel.close().catch(() => {})
    await this.connections.close()
  }
}

/** Acks and nacks on a channel that closed meanwhile throw; the broker requeues those messages anyway. */
function settle(acknowledge: () => void): void {
  try {
    acknowledge()
  } catch {
    // at-least-once: the message comes back and the consumer drops the duplicate by its messageId
  }
}
