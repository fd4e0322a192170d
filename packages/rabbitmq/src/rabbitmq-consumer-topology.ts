import type { AmqpChannel } from './rabbitmq-client.js'

/** The `declare` option of {@link consumeRabbitmq}, validated. */
export interface ConsumerTopology {
  readonly exchange: string
  readonly routingKeys: readonly string[]
  readonly queueType: 'quorum' | 'classic'
  readonly deadLetterExchange: string | undefined
}

/** The queue that collects `queue`'s dead letters when `declare.deadLetterExchange` is set. */
export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dead`
}

/**
 * Declares what `queue` reads from and dead-letters into, on a channel about
 * to consume it. Run on every channel the consumer opens: a worker started
 * before any relay declared the exchange binds all the same (instead of a 404
 * on `bindQueue`), and a queue deleted meanwhile is back. Each step is
 * idempotent; one that conflicts with what exists (another exchange type,
 * other queue arguments) fails with RabbitMQ's 406 PRECONDITION_FAILED, which
 * names the difference.
 *
 * - `exchange`: a durable topic exchange, exactly as `rabbitmqPublisher`
 *   declares it, bound to the queue with each routing key.
 * - `queue`: durable, of `queueType`; with a `deadLetterExchange`, rejected
 *   messages go there with the queue's name as routing key.
 * - `deadLetterExchange`: a durable direct exchange, and the queue
 *   `<queue>.dead` bound to it for this queue's dead letters, so a rejected
 *   message is kept rather than dropped for want of a queue.
 */
export async function declareConsumerTopology(channel: AmqpChannel, queue: string, topology: ConsumerTopology): Promise<void> {
  const { exchange, routingKeys, queueType, deadLetterExchange } = topology
  await channel.assertExchange(exchange, 'topic', { durable: true })
  const queueArguments: Record<string, unknown> = { 'x-queue-type': queueType }
  if (deadLetterExchange !== undefined) {
    const deadQueue = deadLetterQueueOf(queue)
    await channel.assertExchange(deadLetterExchange, 'direct', { durable: true })
    await channel.assertQueue(deadQueue, { durable: true, arguments: { 'x-queue-type': queueType } })
    await channel.bindQueue(deadQueue, deadLetterExchange, queue)
    queueArguments['x-dead-letter-exchange'] = deadLetterExchange
    queueArguments['x-dead-letter-routing-key'] = queue
  }
  await channel.assertQueue(queue, { durable: true, arguments: queueArguments })
  for (const routingKey of routingKeys) await channel.bindQueue(queue, exchange, routingKey)
}
