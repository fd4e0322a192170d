import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkInvariants, type Delivery } from '../support/invariants.js'
import { RelayProcess } from '../support/relay-process.js'
import { type DrainResult, expectInvariants, outboxCounts, pause } from '../support/scenario.js'
import { startWriters } from '../support/writers.js'

// Issue 16's fault test for BullMQ: relay processes SIGKILLed at random moments
// while writers commit and roll back and a BullMQ Worker runs the jobs. A kill
// between the add and the outbox commit makes the next relay add the same jobs
// again; jobId = message id turns that repeat into no job at all, so the
// workers run every committed message exactly once (the jobs are kept an hour
// after they complete, far longer than this test).
const t = useTestDatabase('f_bullmq_kill', { poolSize: 4 })
const urls = serviceUrls()
const prefix = uniqueName('bq_kill')
const QUEUE = 'orders'
const BATCH_SIZE = 20
let redis: Redis

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  redis = new Redis(urls.redisUrl)
})
afterAll(async () => {
  // Every queue of this file lives under its own prefix.
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
  redis.disconnect()
})

const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length))

/** `duplicated` events in the queue's event stream: publishes BullMQ absorbed because the job existed. */
async function absorbedRepeats(): Promise<number> {
  const events = await redis.xrange(`${prefix}:${QUEUE}:events`, '-', '+')
  return events.filter(([, fields]) => fields[0] === 'event' && fields[1] === 'duplicated').length
}

describe('relay killed with SIGKILL while relaying into BullMQ', () => {
  it('workers run every committed message once: nothing lost, nothing rolled back, 0 duplicate jobs, per-key order held, across 20 kills', { timeout: 90_000 }, async () => {
    const KILLS = 20
    // One worker, one job at a time: the order it runs jobs in is the queue's order.
    const deliveries: Delivery[] = []
    const worker = new Worker(
      QUEUE,
      async (job) => {
        deliveries.push({ messageId: job.id as string })
      },
      { connection: { url: urls.redisUrl }, prefix, concurrency: 1 },
    )
    worker.on('error', () => {})
    const queue = new Queue(QUEUE, { connection: redis, prefix })
    const config = {
      databaseUrl: t.url,
      schema: t.schema,
      redisUrl: urls.redisUrl,
      stream: '',
      batchSize: BATCH_SIZE,
      applicationName: uniqueName('relay_bq_kill'),
      bullmq: { queue: QUEUE, prefix },
    }
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5'], pauseMs: 10 })
    const recoveries: number[] = []
    let relay: RelayProcess | undefined
    try {
      try {
        for (let kill = 0; kill < KILLS; kill++) {
          const killedAt = Date.now()
          relay = await RelayProcess.startScript(config)
          await relay.waitReady()
          // Strike while it works: after it published something, at a random moment.
          await relay.waitPublishedMoreThan(0)
          if (kill > 0) recoveries.push(Date.now() - killedAt)
          await pause(Math.floor(Math.random() * 150))
          await relay.kill()
        }
      } finally {
        await writers.stop()
        await relay?.kill()
      }

      const survivor = await RelayProcess.startScript(config)
      const started = Date.now()
      try {
        await survivor.waitReady()
        const committed = new Set(writers.ledger.committed.map((m) => m.messageId))
        await waitFor(
          async () => (await outboxCounts(t.db, t.schema)).outbox === 0 && new Set(deliveries.map((d) => d.messageId)).size >= committed.size,
          { timeoutMs: 20_000, intervalMs: 50 },
        ).catch(() => {})
      } finally {
        await survivor.stop()
      }
      const counts = await outboxCounts(t.db, t.schema)
      const result: DrainResult = {
        report: checkInvariants(writers.ledger, deliveries),
        drainMs: Date.now() - started,
        dead: counts.dead,
        outboxLeft: counts.outbox,
      }
      const jobs = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized')
      expectInvariants(
        'bullmq sigkill',
        result,
        {
          kills: KILLS,
          transactions: writers.ledger.transactions,
          jobs: jobs.completed ?? 0,
          repeatsAbsorbed: await absorbedRepeats(),
          maxRecoveryMs: Math.max(...recoveries),
          meanRecoveryMs: mean(recoveries),
        },
        { maxDuplicates: 0, minCommitted: KILLS * 5 },
      )
      // One job per committed message, all completed: no second job was ever added.
      expect(jobs).toEqual({ waiting: 0, active: 0, completed: result.report.committed, failed: 0, delayed: 0, prioritized: 0 })
    } finally {
      await worker.close()
      await queue.close()
    }
  })
})
