import { createRelay, migrate } from '@txbox/core'
import { rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import amqplib from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkInvariants, type Delivery } from '../support/invariants.js'
import { closeRabbitmqConnectionsNamed } from '../support/rabbitmq-control.js'
import { expectInvariants, outboxCounts, pause } from '../support/scenario.js'
import { startWriters } from '../support/writers.js'

// Scenario 5 of docs/fault-tests.md: the broker closes the relay's RabbitMQ
// connection while it publishes (rabbitmqctl close_connection, on that
// connection only: the broker is shared), again and again.
const t = useTestDatabase('f_rmq_closed', { poolSize: 4 })
const amqpUrl = serviceUrls().amqpUrl
const exchange = uniqueName('faults_rmq')
const queue = `${exchange}.all`
const publisherConnectionName = uniqueName('relay_rmq')
let consumerConnection: amqplib.ChannelModel
const deliveries: Delivery[] = []

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  consumerConnection = await amqplib.connect(amqpUrl, { clientProperties: { connection_name: uniqueName('faults_rmq_consumer') } })
  const channel = await consumerConnection.createChannel()
  await channel.assertExchange(exchange, 'topic', { durable: true })
  await channel.assertQueue(queue, { durable: false, autoDelete: false })
  await channel.bindQueue(queue, exchange, '#')
  await channel.consume(queue, (m) => {
    if (m) deliveries.push({ messageId: m.properties.messageId as string })
  }, { noAck: true })
})
afterAll(async () => {
  if (consumerConnection) {
    const channel = await consumerConnection.createChannel()
    await channel.deleteQueue(queue)
    await channel.deleteExchange(exchange)
    await consumerConnection.close()
  }
})

describe('RabbitMQ connection closed by the broker', () => {
  it('the relay reconnects each time; nothing lost or phantom, per-key order held', { timeout: 90_000 }, async () => {
    const CLOSES = 3
    const publisher = rabbitmqPublisher({ url: amqpUrl, exchange, connectionName: publisherConnectionName })
    const relay = createRelay({
      db: t.db,
      publisher,
      schema: t.schema,
      batchSize: 20,
      pollInterval: 50,
      publishTimeout: 2000,
      maxAttempts: 1000,
      backoff: { initialDelay: 50, maxDelay: 500 },
    })
    let published = 0
    let failed = 0
    relay.on('published', ({ messages }) => {
      published += messages.length
    })
    relay.on('failed', () => {
      failed += 1
    })
    relay.on('error', () => {})
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4'], pauseMs: 10, concurrency: 2 })
    const recoveries: number[] = []
    let closed = 0
    try {
      await relay.start()
      for (let i = 0; i < CLOSES; i++) {
        const before = published
        await waitFor(() => published > before, { timeoutMs: 15_000, message: 'relay publishing' })
        await pause(Math.floor(Math.random() * 100))
        closed += await closeRabbitmqConnectionsNamed(publisherConnectionName)
        const closedAt = Date.now()
        const after = published
        await waitFor(() => published > after, { timeoutMs: 15_000, message: 'relay publishing after the close' })
        recoveries.push(Date.now() - closedAt)
      }
      await writers.stop()
      const started = Date.now()
      await waitFor(async () => (await outboxCounts(t.db, t.schema)).outbox === 0 && checkInvariants(writers.ledger, deliveries).lost.length === 0, {
        timeoutMs: 20_000,
      }).catch(() => {})
      const counts = await outboxCounts(t.db, t.schema)
      const report = checkInvariants(writers.ledger, [...deliveries])
      expect(closed, 'connections closed by the broker').toBeGreaterThanOrEqual(CLOSES)
      expectInvariants(
        'rabbitmq connection closed',
        { report, drainMs: Date.now() - started, dead: counts.dead, outboxLeft: counts.outbox },
        { closes: closed, failedAttempts: failed, transactions: writers.ledger.transactions, maxRecoveryMs: Math.max(...recoveries) },
      )
    } finally {
      await writers.stop()
      await relay.stop()
      await publisher.close?.()
    }
  })
})
