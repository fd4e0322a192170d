// The consumer contract every adapter meets (packages/testing/src/consumer-conformance.ts), run against consumeNats on the real JetStream.
import type { OutboxMessage } from '@txbox/core'
import { connect } from '@nats-io/transport-node'
import { consumeNats, natsPublisher } from '@txbox/nats'
import { type ConformanceConsumerOptions, type ConsumerFixture, describeConsumerConformance, processOnceWrap, uniqueName } from '@txbox/testing'
import { natsUrl, openTestNats, readStream } from './nats-test-streams.js'

describeConsumerConformance('nats', async (): Promise<ConsumerFixture> => {
  const nats = await openTestNats('txbox-consumer-conformance')
  const stream = uniqueName('cc_nats')
  const subject = `${stream}.events`
  const durable = 'workers'
  const deadStream = `${stream}_dead`
  await nats.addStream({ name: stream, subjects: [`${stream}.>`] })
  await nats.addStream({ name: deadStream, subjects: [`txbox.dead.${stream}.>`] })
  const connections: { close(): Promise<void> }[] = []
  return {
    async publish(messageIds) {
      const messages: OutboxMessage[] = messageIds.map((messageId, n) => ({
        id: String(n),
        messageId,
        topic: subject,
        key: null,
        payload: JSON.stringify({ n }),
        headers: {},
        attempts: 0,
        createdAt: new Date(),
      }))
      const results = await natsPublisher({ connection: nats.nc }).publish(messages, { signal: AbortSignal.timeout(10_000) })
      if (!results.every((r) => r.ok)) throw new Error(`publishing failed: ${JSON.stringify(results)}`)
    },
    async start(options: ConformanceConsumerOptions) {
      // A connection of its own per consumer, so that crash() can drop it as a killed process would.
      const nc = await connect({ servers: natsUrl, name: 'txbox-conformance-consumer' })
      connections.push(nc)
      const consumer = await consumeNats({
        connection: nc,
        stream,
        durable,
        fetchWaitMs: 1000,
        ackWaitMs: 1000,
        retryDelayMs: 100,
        maxDeliveries: options.maxDeliveries,
        handlerTimeoutMs: options.handlerTimeoutMs,
        ...(options.logger ? { logger: options.logger } : {}),
        handler: (m, context) => options.handler(m, context),
        ...processOnceWrap(options.processOnce),
      })
      return {
        async stop() {
          await consumer.stop()
          await nc.close().catch(() => {})
        },
        async crash() {
          await nc.close()
        },
      }
    },
    async unacknowledged() {
      const info = await nats.jsm.consumers.info(stream, durable)
      return info.num_ack_pending + info.num_pending
    },
    async deadLetters() {
      return (await readStream(nats.jsm, deadStream)).map((copy) => copy.headers?.get('txbox-dead-message-id') ?? '')
    },
    async close() {
      for (const c of connections) await c.close().catch(() => {})
      await nats.close()
    },
  }
}, { txboxConsumer: true, redeliversAfterCrash: true })
