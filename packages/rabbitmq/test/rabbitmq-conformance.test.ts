import { rabbitmqPublisher } from '@txbox/rabbitmq'
import { describePublisherConformance, type PublisherFixture, type ReceivedMessage, serviceUrls, uniqueName, waitForValue } from '@txbox/testing'
import { openAdmin } from './broker.js'

describePublisherConformance('rabbitmq', async (): Promise<PublisherFixture> => {
  const exchange = uniqueName('conf_rmq')
  const { connection, channel } = await openAdmin(`${exchange}-admin`)
  await channel.assertExchange(exchange, 'topic', { durable: true })
  const inner = rabbitmqPublisher({ url: serviceUrls().amqpUrl, exchange, connectionName: `${exchange}-publisher` })
  let closed = false
  const queues = new Map<string, { bound: Promise<string>; received: ReceivedMessage[] }>()

  // A message published before its queue is bound is dropped (returned), so
  // topic() binds at once and the publisher below waits for pending binds.
  const topic = (name: string) => {
    const t = `${exchange}.${name}`
    const received: ReceivedMessage[] = []
    const bound = (async () => {
      const { queue } = await channel.assertQueue(`${t}.q`, { exclusive: true, durable: false })
      await channel.bindQueue(queue, exchange, t)
      await channel.consume(
        queue,
        (m) => {
          if (!m) return
          const raw = (m.properties.headers ?? {}) as Record<string, unknown>
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(raw)) if (k !== 'txbox-key' && k !== 'txbox-topic') headers[k] = String(v)
          received.push({
            messageId: m.properties.messageId,
            topic: String(raw['txbox-topic']),
            key: raw['txbox-key'] === undefined ? null : String(raw['txbox-key']),
            payload: JSON.parse(m.content.toString('utf8')),
            headers,
          })
        },
        { noAck: true },
      )
      return queue
    })()
    queues.set(t, { bound, received })
    return t
  }

  return {
    publisher: {
      async publish(messages, context) {
        await Promise.all([...queues.values()].map((q) => q.bound))
        return inner.publish(messages, context)
      },
      close: () => inner.close?.() ?? Promise.resolve(),
    },
    topic,
    async received(t, count) {
      const q = queues.get(t)
      if (!q) throw new Error(`unknown topic ${t}`)
      await q.bound
      return waitForValue(
        () => [...q.received],
        (got) => got.length >= count,
        { timeoutMs: 10_000, message: `${count} messages on ${t}` },
      )
    },
    // Unbinding its queue leaves the topic's routing key unroutable: a mandatory message comes back.
    async breakTopic(t) {
      const q = queues.get(t)
      if (!q) throw new Error(`unknown topic ${t}`)
      await channel.unbindQueue(await q.bound, exchange, t)
    },
    async close() {
      await inner.close?.()
      if (closed) return
      closed = true
      for (const q of queues.values()) await channel.deleteQueue(await q.bound).catch(() => {})
      queues.clear()
      await channel.deleteExchange(exchange).catch(() => {})
      await connection.close().catch(() => {})
    },
  }
}, { stopsKeyOnFailure: false })
