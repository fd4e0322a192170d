import { rabbitmqPublisher } from '@txbox/rabbitmq'
import type { Publisher } from '@txbox/core'
import amqplib from 'amqplib'
import type { BenchConfig } from '../../support/config.js'
import type { BareRow, Destination, PublisherVariant } from '../destination.js'

/**
 * RabbitMQ: a durable topic exchange bound to one durable queue, purged
 * after every drain; messages persistent and mandatory, on confirm channels.
 */
export async function rabbitmq(config: BenchConfig): Promise<Destination> {
  const exchange = `bench-${config.runId}`
  const queue = `bench-${config.runId}-all`
  const connection = await amqplib.connect(config.amqpUrl)
  const channel = await connection.createConfirmChannel()
  await channel.assertExchange(exchange, 'topic', { durable: true })
  await channel.assertQueue(queue, { durable: true })
  await channel.bindQueue(queue, exchange, '#')
  const publishers: Publisher[] = []
  return {
    name: 'RabbitMQ',
    notes: `RabbitMQ: a durable topic exchange bound to one durable queue; the bare loop publishes each row persistent + mandatory on one confirm channel and calls waitForConfirms once per batch; txbox: rabbitmqPublisher({ url, exchange }).`,
    topic: () => 'bench.events',
    async publisher(variant: PublisherVariant = {}) {
      const publisher = rabbitmqPublisher({ url: config.amqpUrl, exchange, ...variant })
      publishers.push(publisher)
      return publisher
    },
    async send(rows: readonly BareRow[]) {
      for (const r of rows) {
        channel.publish(exchange, r.topic, Buffer.from(r.payload), {
          persistent: true,
          mandatory: true,
          messageId: r.message_id,
          contentType: 'application/json',
          headers: { 'txbox-key': r.key, 'txbox-topic': r.topic },
        })
      }
      await channel.waitForConfirms()
    },
    async count() {
      return (await channel.checkQueue(queue)).messageCount
    },
    async clear() {
      await channel.purgeQueue(queue)
    },
    async close() {
      for (const publisher of publishers) await publisher.close?.().catch(() => {})
      await channel.deleteQueue(queue).catch(() => {})
      await channel.deleteExchange(exchange).catch(() => {})
      await connection.close().catch(() => {})
    },
  }
}
