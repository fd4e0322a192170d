// The consumer contract every adapter meets (packages/testing/src/consumer-conformance.ts), run against consumeRabbitmq on the real RabbitMQ (a quorum queue).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { OutboxMessage } from '@txbox/core'
import { consumeRabbitmq, rabbitmqPublisher } from '@txbox/rabbitmq'
import { type ConformanceConsumerOptions, type ConsumerFixture, describeConsumerConformance, processOnceWrap, serviceUrls, uniqueName } from '@txbox/testing'
import amqplib from 'amqplib'
import { closeConnectionsNamed, openAdmin } from './broker.js'

const run = promisify(execFile)

describeConsumerConformance('rabbitmq', async (): Promise<ConsumerFixture> => {
  const url = serviceUrls().amqpUrl
  const exchange = uniqueName('cc_rmq')
  const queue = `${exchange}.work`
  const deadExchange = `${exchange}.dlx`
  const declare = { exchange, routingKeys: ['events'], queueType: 'quorum' as const, deadLetterExchange: deadExchange }
  const admin = await openAdmin('txbox-consumer-conformance')
  const publisher = rabbitmqPublisher({ connection: admin.connection, exchange, routingKey: 'events' })
  const connections: Awaited<ReturnType<typeof amqplib.connect>>[] = []
  return {
    async publish(messageIds) {
      const messages: OutboxMessage[] = messageIds.map((messageId, n) => ({
        id: String(n),
        messageId,
        topic: 'events',
        key: null,
        payload: JSON.stringify({ n }),
        headers: {},
        attempts: 0,
        createdAt: new Date(),
      }))
      const results = await publisher.publish(messages, { signal: AbortSignal.timeout(10_000) })
      if (!results.every((r) => r.ok)) throw new Error(`publishing failed: ${JSON.stringify(results)}`)
    },
    async start(options: ConformanceConsumerOptions) {
      // A connection of its own per consumer, so that crash() can drop it as a killed process would.
      const connectionName = uniqueName('cc_rmq_consumer')
      const connection = await amqplib.connect(url, { clientProperties: { connection_name: connectionName } })
      connection.on('error', () => {})
      connections.push(connection)
      const consumer = await consumeRabbitmq({
        connection,
        queue,
        declare,
        prefetch: 1,
        maxDeliveries: options.maxDeliveries,
        handlerTimeoutMs: options.handlerTimeoutMs,
        ...(options.logger ? { logger: options.logger } : {}),
        handler: (m, context) => options.handler(m, context),
        ...processOnceWrap(options.processOnce),
      })
      let crashed = false
      return {
        async stop() {
          await consumer.stop()
          if (!crashed) await connection.close().catch(() => {})
        },
        async crash() {
          crashed = true
          // The connection dies: RabbitMQ requeues what the consumer held, as for a killed process.
          await closeConnectionsNamed(connectionName)
          // A dead process stops nothing: stop() (waiting for the handlers in flight) only frees this process's side.
          void consumer.stop()
        },
      }
    },
    async unacknowledged() {
      // Ready and unacknowledged together; AMQP itself tells only the ready ones.
      const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name', 'messages'])
      const line = stdout.split('\n').find((l) => l.split('\t')[0] === queue)
      return Number(line?.split('\t')[1] ?? 0)
    },
    async deadLetters() {
      const ids: string[] = []
      const channel = await admin.connection.createChannel()
      try {
        for (;;) {
          const m = await channel.get(`${queue}.dead`, { noAck: false })
          if (m === false) break
          ids.push(String(m.properties.messageId))
        }
        // Not acknowledged: closing the channel puts them back for the next look.
      } finally {
        await channel.close()
      }
      return ids
    },
    async close() {
      for (const c of connections) await c.close().catch(() => {})
      await admin.channel.deleteQueue(queue).catch(() => {})
      await admin.channel.deleteQueue(`${queue}.dead`).catch(() => {})
      await admin.channel.deleteExchange(exchange).catch(() => {})
      await admin.channel.deleteExchange(deadExchange).catch(() => {})
      await publisher.close?.()
      await admin.connection.close()
    },
  }
}, { txboxConsumer: true, redeliversAfterCrash: true })
