import { rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, waitFor } from '@txbox/testing'
import amqplib from 'amqplib'
import { startTcpProxy } from '../support/tcp-proxy.js'
import type { BrokerFixture, RelayBrokerLink } from './broker-fixture.js'
import { type BrokerDelivery, parseN } from './run-history.js'

/**
 * The run's own RabbitMQ exchange and one queue bound to everything, drained
 * by a consumer (no ack) that records each message as it arrives: the
 * queue's order is the broker's. Each relay publishes through its own
 * connection, behind its own TCP proxy, so a 'close-connection' fault cuts
 * that relay's connection only.
 */
export async function rabbitmqBroker(exchange: string): Promise<BrokerFixture> {
  const url = serviceUrls().amqpUrl
  const queue = `${exchange}.all`
  const received: BrokerDelivery[] = []
  const connection = await amqplib.connect(url, { clientProperties: { connection_name: `${exchange}.checker` } })
  connection.on('error', () => {})
  const channel = await connection.createChannel()
  // As the publisher declares it: a durable topic exchange.
  await channel.assertExchange(exchange, 'topic', { durable: true })
  await channel.assertQueue(queue, { durable: false, autoDelete: false })
  await channel.bindQueue(queue, exchange, '#')
  await channel.consume(
    queue,
    (m) => {
      if (!m) return
      const key = m.properties.headers?.['txbox-key']
      received.push({ messageId: String(m.properties.messageId), n: parseN(m.content), key: typeof key === 'string' ? key : null, at: Date.now() })
    },
    { noAck: true },
  )
  const links = new Set<RelayBrokerLink>()

  /**
   * Waits until the queue has handed every message to our consumer. The
   * queue answers this channel's passive declare after the deliveries it
   * sent before, in order, so once it reports none ready, everything routed
   * before the call has reached the callback.
   */
  const caughtUp = async () => {
    await waitFor(async () => (await channel.checkQueue(queue)).messageCount === 0, { timeoutMs: 10_000, intervalMs: 20, message: `queue ${queue} drained` })
  }

  return {
    kind: 'rabbitmq',
    async linkFor(name) {
      const target = new URL(url)
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) })
      target.hostname = '127.0.0.1'
      target.port = String(proxy.port)
      const publisher = rabbitmqPublisher({ url: target.toString(), exchange, connectionName: name })
      const link: RelayBrokerLink = {
        publisher,
        closeConnection: () => proxy.dropAll(),
        async close() {
          links.delete(link)
          await publisher.close?.()
          await proxy.close()
        },
      }
      links.add(link)
      return link
    },
    async mark() {
      await caughtUp()
      return received.length
    },
    async deliveries() {
      await caughtUp()
      return [...received]
    },
    async cleanup() {
      for (const link of [...links]) await link.close()
      await channel.deleteQueue(queue).catch(() => {})
      await channel.deleteExchange(exchange).catch(() => {})
      await connection.close().catch(() => {})
    },
  }
}
