// The txbox relay, as its own process (in production: `txbox relay`, or this
// in your service). It tells the demo how many messages it published, so that
// the demo can kill it mid-stream.
import { createRelay } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { Redis } from 'ioredis'
import { connect } from './database.js'
import { redisUrl, runNamesFromEnv, streamName } from './settings.js'

const names = runNamesFromEnv()
const { db, pool } = connect(names, 2)
const redis = new Redis(redisUrl)

const relay = createRelay({
  db,
  listen: pool,
  schema: names.schema,
  publisher: redisStreamsPublisher({ redis, stream: streamName(names, 'txbox') }),
  batchSize: 5, // small batches, so that a kill lands mid-stream
})
relay.on('published', ({ messages }) => process.send?.({ published: messages.length }))
await relay.start()

process.on('SIGTERM', async () => {
  await relay.stop()
  await redis.quit()
  await db.destroy()
  process.exit(0)
})
