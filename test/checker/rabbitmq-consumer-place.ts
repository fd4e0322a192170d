import { consumeRabbitmq, rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls } from '@txbox/testing'
import amqplib from 'amqplib'
import { startTcpProxy } from '../support/tcp-proxy.js'
import type { ConsumerBehaviour, ConsumerPlace, RunningConsumer } from './consumer-place.js'
import type { ConsumerRunConfig } from './consumer-scenario-model.js'
import { parseN } from './run-history.js'

/**
 * The run's own exchange, queue (declared by the consumers, `declare`, of
 * the run's queue type) and dead-letter exchange with its `<queue>.dead`
 * queue. Each consumer opens its own connection (`url`) behind its own TCP
 * proxy; the publisher and the harness's channel connect directly.
 */
export async function rabbitmqConsumerPlace(exchange: string, config: ConsumerRunConfig): Promise<ConsumerPlace> {
  const url = serviceUrls().amqpUrl
  const queue = `${exchange}.q`
  const deadExchange = `${exchange}.dlx`
  const deadQueue = `${queue}.dead`
  const publisher = rabbitmqPublisher({ url, exchange, connectionName: `${exchange}.publisher` })
  const connection = await amqplib.connect(url, { clientProperties: { connection_name: `${exchange}.harness` } })
  connection.on('error', () => {})
  const channel = await connection.createChannel()
  channel.on('error', () => {})
  const dead: number[] = []
  let deadConsumer: string | undefined
  const opened = new Set<RunningConsumer>()

  return {
    kind: 'rabbitmq',
    async publish(messages) {
      const results = await publisher.publish(messages, { signal: new AbortController().signal })
      const failed = results.filter((r) => !r.ok)
      if (failed.length > 0) throw new Error(`the publisher failed ${failed.length} message(s): ${failed.map((r) => (r.ok ? '' : r.error.message)).join('; ')}`)
    },
    async startConsumer(behaviour: ConsumerBehaviour) {
      const target = new URL(url)
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) })
      target.hostname = '127.0.0.1'
      target.port = String(proxy.port)
      let consumer: { stop(): Promise<void> }
      try {
        consumer = await consumeRabbitmq<unknown>({
          url: target.toString(),
          connectionName: behaviour.name,
          queue,
          declare: { exchange, routingKeys: ['#'], queueType: config.queueType, deadLetterExchange: deadExchange },
          prefetch: config.batch,
          maxDeliveries: config.maxDeliveries,
          reconnectDelay: 50,
          handler: (m) => behaviour.handler(m, undefined),
          wrap: behaviour.wrap,
          onError: (error) => behaviour.log(`onError ${behaviour.name}: ${(error as Error)?.message ?? String(error)}`.slice(0, 300)),
        })
      } catch (error) {
        await proxy.close()
        throw error
      }
      // The first consumer declared the dead-letter queue: read it from here on.
      if (deadConsumer === undefined) {
        deadConsumer = (
          await channel.consume(
            deadQueue,
            (m) => {
              if (m) dead.push(parseN(m.content) ?? -1)
            },
            { noAck: true },
          )
        ).consumerTag
      }
      const running: RunningConsumer = {
        stop: () => consumer.stop(),
        drop: () => proxy.dropAll(),
        cutForGood() {
          // Closed, not refusing: a reconnection then meets a closed port, as with a dead host.
          void proxy.close()
        },
        async close() {
          opened.delete(running)
          await proxy.close()
        },
      }
      opened.add(running)
      return running
    },
    async deadLetters() {
      // The passive declare is answered after the deliveries sent before it: what was dead by now is in `dead`.
      await channel.checkQueue(deadQueue)
      return [...dead]
    },
    async idle() {
      return (await channel.checkQueue(queue)).messageCount === 0
    },
    async cleanup() {
      for (const running of [...opened]) await running.close()
      await publisher.close?.()
      await channel.deleteQueue(queue).catch(() => {})
      await channel.deleteQueue(deadQueue).catch(() => {})
      await channel.deleteExchange(exchange).catch(() => {})
      await channel.deleteExchange(deadExchange).catch(() => {})
      await connection.close().catch(() => {})
    },
  }
}
