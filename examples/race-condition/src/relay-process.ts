// The txbox relays, as their own process (in production: `txbox relay`, or
// this in your service): one per broker, each draining its own outbox. It
// tells the demo how many messages each published, so that the demo can kill
// it mid-stream.
import { bullmqPublisher } from '@txbox/bullmq'
import { createRelay, type Publisher } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { Redis } from 'ioredis'
import { connect } from './database.js'
import { type Broker, brokers, bullmqPrefix, bullmqQueueName, outboxTables, redisUrl, runNamesFromEnv, streamName } from './settings.js'

const names = runNamesFromEnv()
const { db, pool } = connect(names, 4)
const redis = new Redis(redisUrl)

const publishers: Record<Broker, Publisher> = {
  'redis-streams': redisStreamsPublisher({ redis, stream: streamName(names, 'txbox') }),
  // Each message becomes a job in the queue, with jobId = its message id.
  bullmq: bullmqPublisher({ connection: redis, prefix: bullmqPrefix(names), queue: bullmqQueueName('txbox') }),
}

const relays = brokers.map((broker) => {
  const relay = createRelay({
    db,
    listen: pool,
    schema: names.schema,
    ...outboxTables(broker),
    publisher: publishers[broker],
    batchSize: 5, // small batches, so that a kill lands mid-stream
  })
  relay.on('published', ({ messages }) => process.send?.({ broker, published: messages.length }))
  return relay
})
await Promise.all(relays.map((relay) => relay.start()))

process.on('SIGTERM', async () => {
  await Promise.all(relays.map((relay) => relay.stop()))
  await Promise.all(Object.values(publishers).map((publisher) => publisher.close?.()))
  await redis.quit()
  await db.destroy()
  process.exit(0)
})
