// The web app: one process handling signups FROM..TO, CONCURRENCY at a time.
// The demo starts it as a child process so that it can really die.
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { connect } from './database.js'
import { type Approach, CONCURRENCY, redisUrl, runNamesFromEnv, streamName } from './settings.js'
import { signup } from './signup.js'

const names = runNamesFromEnv()
const approach = process.env.DEMO_APPROACH as Approach
const from = Number(process.env.DEMO_FROM)
const to = Number(process.env.DEMO_TO)

const { db } = connect(names)
const redis = new Redis(redisUrl)
// A Redis nobody listens on: connection refused, no retries.
const unreachableRedis = new Redis({ port: await closedPort(), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
unreachableRedis.on('error', () => {})
const ctx = { db, schema: names.schema, stream: streamName(names, approach), redis, unreachableRedis }

try {
  for (let n = from; n < to; n += CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, to - n) }, (_, i) => n + i)
    await Promise.all(batch.map((i) => signup(ctx, approach, i)))
  }
} finally {
  unreachableRedis.disconnect()
  await redis.quit()
  await db.destroy()
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
