// The web app: one process handling signups FROM..TO, CONCURRENCY at a time,
// each in every scenario side by side (as if six copies of the app served the
// same requests). The demo starts it as a child process so that it can really die.
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { CrashPoint } from './crash-point.js'
import { connect } from './database.js'
import { openJobQueue } from './job-queues.js'
import { CONCURRENCY, redisUrl, runNamesFromEnv, scenarios } from './settings.js'
import { type SignupContext, signup } from './signup.js'

const names = runNamesFromEnv()
const from = Number(process.env.DEMO_FROM)
const to = Number(process.env.DEMO_TO)

const { db } = connect(names, 6)
const redis = new Redis(redisUrl)
// A Redis nobody listens on: connection refused, no retries.
const unreachableRedis = new Redis({ port: await closedPort(), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
unreachableRedis.on('error', () => {})
const crash = new CrashPoint(scenarios.filter((s) => s.approach !== 'push-before-commit').length)
const contexts: SignupContext[] = scenarios.map((scenario) => ({
  db,
  schema: names.schema,
  scenario,
  jobs: openJobQueue(names, scenario, redis),
  unreachableJobs: openJobQueue(names, scenario, unreachableRedis),
  crash,
}))

try {
  for (let n = from; n < to; n += CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, to - n) }, (_, i) => n + i)
    await Promise.all(contexts.flatMap((ctx) => batch.map((i) => signup(ctx, i))))
  }
} finally {
  for (const ctx of contexts) await Promise.all([ctx.jobs.close(), ctx.unreachableJobs.close()])
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
