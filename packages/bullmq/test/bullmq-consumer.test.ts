import { bullmqPublisher, withProcessOnce } from '@txbox/bullmq'
import { migrate, silentLogger } from '@txbox/core'
import { useTestDatabase, waitFor } from '@txbox/testing'
import { type Job, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { outboxMessage, RecordingWorker, removeQueues, testPrefix, testRedis } from './bullmq-test-queues.js'

const t = useTestDatabase('bullmq_consumer')
const prefix = testPrefix('consumer')
let redis: Redis
const toClose: { close(): Promise<unknown> }[] = []

beforeAll(async () => {
  redis = testRedis()
  await migrate(t.db, { schema: t.schema })
  await sql`create table ${sql.id(t.schema, 'effects')} (message_id text not null, attempt int not null)`.execute(t.db)
})
afterAll(async () => {
  for (const c of toClose.reverse()) await c.close()
  await removeQueues(redis, prefix)
  await redis.quit()
})

let topics = 0
const topic = (name: string) => `${name}_${++topics}`
const signal = () => new AbortController().signal

async function effectsOf(messageId: string): Promise<number[]> {
  const { rows } = await sql<{ attempt: number }>`select attempt from ${sql.id(t.schema, 'effects')} where message_id = ${messageId}`.execute(t.db)
  return rows.map((r) => r.attempt)
}

/** The handler under test: one row per run that commits. */
const recordEffect = withProcessOnce(
  t.db,
  async (job: Job, trx) => {
    await sql`insert into ${sql.id(t.schema, 'effects')} values (${job.id}, ${job.attemptsMade})`.execute(trx)
    return 'done'
  },
  { schema: t.schema, consumer: 'effects' },
)

async function publish(q: string, jobOptions: Parameters<typeof bullmqPublisher>[0]['jobOptions'], count = 1) {
  const publisher = bullmqPublisher({ connection: redis, prefix, logger: silentLogger, ...(jobOptions ? { jobOptions } : {}) })
  toClose.push({ close: () => publisher.close?.() ?? Promise.resolve() })
  const messages = Array.from({ length: count }, () => outboxMessage(q))
  const results = await publisher.publish(messages, { signal: signal() })
  expect(results.every((r) => r.ok)).toBe(true)
  return { publisher, messages }
}

function queueNamed(name: string): Queue {
  const queue = new Queue(name, { connection: redis, prefix })
  toClose.push(queue)
  return queue
}

async function finished(queue: Queue, jobId: string): Promise<Job> {
  let job: Job | undefined
  await waitFor(
    async () => {
      job = await queue.getJob(jobId)
      return job?.finishedOn !== undefined
    },
    { message: `job ${jobId} finished` },
  )
  return job as Job
}

describe('withProcessOnce', () => {
  test('a job retried after its handler committed (the worker failed after it) has its effect once', async () => {
    const q = topic('after_commit')
    const { messages } = await publish(q, () => ({ attempts: 3 }))
    const worker = new RecordingWorker(q, prefix, async (job, token, signal) => {
      const result = await recordEffect(job, token, signal)
      if (job.attemptsMade === 0) throw new Error('the worker failed after the handler committed')
      return result
    })
    toClose.push(worker)
    const id = messages[0]?.messageId as string
    const job = await finished(queueNamed(q), id)
    expect(worker.processed).toHaveLength(2)
    expect(job.returnvalue).toBeNull() // the second run found the inbox record: the handler did not run
    expect(await effectsOf(id)).toEqual([0])
  })

  test('a handler that throws rolls back its writes; BullMQ retries the job and the effect happens once', async () => {
    const q = topic('throws')
    const { messages } = await publish(q, () => ({ attempts: 2 }))
    const flaky = withProcessOnce(
      t.db,
      async (job: Job, trx) => {
        await sql`insert into ${sql.id(t.schema, 'effects')} values (${job.id}, ${job.attemptsMade})`.execute(trx)
        if (job.attemptsMade === 0) throw new Error('the handler failed after its write')
        return 'done'
      },
      { schema: t.schema, consumer: 'effects' },
    )
    const worker = new RecordingWorker(q, prefix, flaky)
    toClose.push(worker)
    const id = messages[0]?.messageId as string
    const job = await finished(queueNamed(q), id)
    expect(job.returnvalue).toBe('done')
    expect(worker.processed).toHaveLength(2)
    expect(await effectsOf(id)).toEqual([1])
  })

  test('a second job of the same message, added after the first was removed, is skipped', async () => {
    const q = topic('second_job')
    const { publisher, messages } = await publish(q, () => ({ removeOnComplete: true }))
    const worker = new RecordingWorker(q, prefix, recordEffect)
    toClose.push(worker)
    await worker.ran(1)
    const queue = queueNamed(q)
    const id = messages[0]?.messageId as string
    await waitFor(async () => (await queue.getJob(id)) === undefined, { message: 'the first job removed' })
    expect((await publisher.publish(messages, { signal: signal() }))[0]?.ok).toBe(true)
    await worker.ran(2)
    await waitFor(async () => (await queue.getJob(id)) === undefined, { message: 'the second job done' })
    expect(await effectsOf(id)).toEqual([0])
  })

  test('refuses a job BullMQ numbered itself, unless messageId names its stable id', async () => {
    const q = topic('numbered')
    const queue = queueNamed(q)
    const added = await queue.add('plain', { orderId: 1 })
    const byOrder = withProcessOnce(t.db, async (job: Job<{ orderId: number }>) => job.data.orderId, {
      schema: t.schema,
      messageId: (job) => `order-${job.data.orderId}`,
    })
    const worker = new RecordingWorker(q, prefix, (job, token, signal) => (job.name === 'plain' ? recordEffect(job, token, signal) : byOrder(job, token, signal)))
    toClose.push(worker)
    const failed = await finished(queue, added.id as string)
    expect(failed.failedReason).toMatch(/numbered by BullMQ.*messageId: \(job\) =>/)
    const named = await queue.add('named', { orderId: 2 })
    expect((await finished(queue, named.id as string)).returnvalue).toBe(2)
  })

  test('checks its arguments at creation', () => {
    expect(() => withProcessOnce(t.db, 'nope' as never)).toThrow(/handler must be an async function/)
    expect(() => withProcessOnce(t.db, async () => 1, { consumers: 'x' } as never)).toThrow(/unknown option "consumers"/)
    expect(() => withProcessOnce(t.db, async () => 1, { messageId: 'id' as never })).toThrow(/messageId must be a function/)
  })
})
