import { BullmqAddError, BullmqJobIdError, BullmqPublishError, bullmqPublisher, DEFAULT_RETENTION } from '@txbox/bullmq'
import type { Logger, OutboxMessage, Publisher, PublishResult } from '@txbox/core'
import { serviceUrls, waitFor } from '@txbox/testing'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.js'
import { outboxMessage, RecordingWorker, removeQueues, testPrefix, testRedis } from './bullmq-test-queues.js'

const prefix = testPrefix('publisher')
let redis: Redis
const toClose: { close(): Promise<unknown> }[] = []

beforeAll(() => {
  redis = testRedis()
})
afterAll(async () => {
  for (const c of toClose.reverse()) await c.close()
  await removeQueues(redis, prefix)
  await redis.quit()
})

const signal = () => new AbortController().signal

/** A publisher on the shared client and this file's prefix, closed after the file. */
function publisherFor(options: Omit<Parameters<typeof bullmqPublisher>[0], 'connection' | 'prefix'> = {}): Publisher {
  const publisher = bullmqPublisher({ connection: redis, prefix, ...options })
  toClose.push({ close: () => publisher.close?.() ?? Promise.resolve() })
  return publisher
}

function queueNamed(name: string): Queue {
  const queue = new Queue(name, { connection: redis, prefix })
  toClose.push(queue)
  return queue
}

function worker(queue: string): RecordingWorker {
  const w = new RecordingWorker(queue, prefix)
  toClose.push(w)
  return w
}

let topics = 0
const topic = (name: string) => `${name}_${++topics}`

const failure = (r: PublishResult | undefined) => (r && !r.ok ? r : undefined)

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  const noop = () => {}
  return { warnings, debug: noop, info: noop, error: noop, warn: (_fields, message) => warnings.push(message) }
}

describe('one job per message: jobId = message id', () => {
  test('publishing the same message again adds no second job, before and after a worker completed it', async () => {
    const q = topic('dedupe')
    const publisher = publisherFor()
    const m = outboxMessage(q, { payload: '{"orderId": 7}' })
    expect((await publisher.publish([m], { signal: signal() }))[0]).toEqual({ ok: true })
    // The relay died before its commit: the next one publishes the same message again.
    expect((await publisher.publish([m], { signal: signal() }))[0]).toEqual({ ok: true })
    const w = worker(q)
    const [job] = await w.ran(1)
    expect(job?.id).toBe(m.messageId)
    expect(job?.data).toEqual({ orderId: 7 })
    const queue = queueNamed(q)
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 1, { message: 'the job completed' })
    // ... and again after the job completed: it is retained, so still nothing is added.
    expect((await publisher.publish([m, m], { signal: signal() })).map((r) => r.ok)).toEqual([true, true])
    expect(await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized')).toEqual({
      waiting: 0,
      active: 0,
      completed: 1,
      failed: 0,
      delayed: 0,
      prioritized: 0,
    })
    expect(w.processed).toHaveLength(1)
  })

  test('keeps finished jobs an hour (completed) and a week (failed) by default, which is what absorbs repeats', async () => {
    const q = topic('retention')
    const m = outboxMessage(q)
    await publisherFor().publish([m], { signal: signal() })
    const job = await queueNamed(q).getJob(m.messageId)
    expect(job?.opts.removeOnComplete).toEqual({ age: 3600 })
    expect(job?.opts.removeOnFail).toEqual({ age: 604_800 })
    expect(DEFAULT_RETENTION).toEqual({ removeOnComplete: { age: 3600 }, removeOnFail: { age: 604_800 } })
  })

  test('a job removed on completion lets a repeated publish add a second job, and the publisher warns about such options once', async () => {
    const q = topic('removed')
    const logger = recordingLogger()
    const publisher = publisherFor({ logger, jobOptions: () => ({ removeOnComplete: true }) })
    const m = outboxMessage(q)
    await publisher.publish([m], { signal: signal() })
    const w = worker(q)
    await w.ran(1)
    const queue = queueNamed(q)
    await waitFor(async () => (await queue.getJob(m.messageId)) === undefined, { message: 'the job removed on completion' })
    await publisher.publish([m], { signal: signal() })
    await w.ran(2)
    expect(w.processed.map((j) => j.id)).toEqual([m.messageId, m.messageId])
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toMatch(/removeOnComplete: true removes a job as soon as it finishes.*adds a second job/)
  })

  test('a message id BullMQ cannot take as a job id is refused as permanent, without touching its neighbours', async () => {
    const q = topic('ids')
    const publisher = publisherFor()
    // '42': BullMQ keeps integer ids for itself. 'a:b:c': BullMQ 6 still takes
    // exactly two ':' (old repeatable jobs); we refuse every ':'.
    const bad = ['42', '0', 'order:42', 'a:b:c'].map((messageId) => outboxMessage(q, { messageId }))
    const good = [outboxMessage(q), outboxMessage(q, { messageId: '042' }), outboxMessage(q, { messageId: 'order-42' })]
    const batch = [good[0], ...bad, good[1], good[2]] as OutboxMessage[]
    const results = await publisher.publish(batch, { signal: signal() })
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, false, true, true])
    for (const r of results.slice(1, 5)) {
      const f = failure(r)
      expect(f?.permanent).toBe(true)
      expect(f?.transport).toBeUndefined()
      expect(f?.error).toBeInstanceOf(BullmqJobIdError)
      expect(f?.error).toBeInstanceOf(BullmqPublishError)
      expect(f?.error).toMatchObject({ code: 'BULLMQ_INVALID_JOB_ID', reason: 'unpublishable' })
      expect(f?.error.message).toMatch(/messageId that is not an integer and has no ':'/)
    }
    const w = worker(q)
    expect((await w.ran(3)).map((j) => j.id)).toEqual(good.map((m) => m.messageId))
  })
})

describe('queue, job name and job options per message', () => {
  test('the queue and job name default to the topic and can be functions of the message; jobOptions apply per message', async () => {
    const q = topic('routing')
    const publisher = publisherFor({
      queue: (m) => `${q}_${m.key}`,
      jobName: (m) => `job.${m.topic}`,
      jobOptions: (m) => ({ attempts: m.key === 'a' ? 3 : 1, priority: m.key === 'a' ? 5 : undefined }),
    })
    const a = outboxMessage('welcome', { key: 'a', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'x=1' } })
    const b = outboxMessage('welcome', { key: 'b' })
    expect((await publisher.publish([a, b], { signal: signal() })).map((r) => r.ok)).toEqual([true, true])
    const jobA = await queueNamed(`${q}_a`).getJob(a.messageId)
    const jobB = await queueNamed(`${q}_b`).getJob(b.messageId)
    expect(jobA?.name).toBe('job.welcome')
    expect(jobA?.opts.attempts).toBe(3)
    expect(jobA?.opts.priority).toBe(5)
    expect(jobA?.opts.removeOnComplete).toEqual({ age: 3600 })
    // W3C trace context as BullMQ's producers store it with bullmq-otel.
    expect(jobA?.opts.telemetry?.metadata).toEqual({ traceparent: a.headers.traceparent, tracestate: 'x=1' })
    expect(jobB?.opts.attempts).toBe(1)
    expect(jobB?.opts.telemetry).toBeUndefined()
  })

  test('a message whose queue name, job name or job options BullMQ refuses fails alone and is retried, not dead-lettered', async () => {
    const q = topic('badopts')
    const publisher = publisherFor({
      jobOptions: (m) => {
        if (m.key === 'float') return { priority: 1.5 }
        if (m.key === 'jobid') return { jobId: 'mine' }
        if (m.key === 'throws') throw new Error('no options for you')
        return {}
      },
    })
    const batch = [
      outboxMessage(q),
      outboxMessage(q, { key: 'float' }),
      outboxMessage(q, { key: 'jobid' }),
      outboxMessage(q, { key: 'throws' }),
      outboxMessage('has:colon'),
      outboxMessage(q),
    ]
    const results = await publisher.publish(batch, { signal: signal() })
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, false, true])
    const reasons = results.slice(1, 5).map((r) => {
      const f = failure(r)
      expect(f?.error).toBeInstanceOf(BullmqPublishError)
      expect(f?.error).toMatchObject({ reason: 'job-options' })
      expect(f?.permanent).toBeUndefined()
      expect(f?.transport).toBeUndefined()
      return f?.error.message
    })
    expect(reasons[0]).toMatch(/BullMQ refused the job options \(Priority should not be float\)/)
    expect(reasons[1]).toMatch(/jobId.*which the publisher owns/)
    expect(reasons[2]).toMatch(/the jobOptions function threw \(no options for you\)/)
    expect(reasons[3]).toMatch(/BullMQ refused the queue name \(Queue name cannot contain :\)/)
    expect((await worker(q).ran(2)).map((j) => j.id)).toEqual([batch[0]?.messageId, batch[5]?.messageId])
  })

  test('checks its options at creation', () => {
    expect(() => bullmqPublisher({ connection: redis, queues: 'x' } as never)).toThrow(/unknown option "queues"/)
    expect(() => bullmqPublisher({} as never)).toThrow(/connection must be an ioredis client/)
    expect(() => bullmqPublisher({ connection: redis, queue: '' })).toThrow(/queue must be a non-empty string/)
    expect(() => bullmqPublisher({ connection: redis, jobOptions: { attempts: 3 } as never })).toThrow(/jobOptions must be a function/)
  })
})

describe('failures', () => {
  test('when Redis refuses a batch, the jobs it holds count as published and the others fail (attempts spent: not a transport failure)', async () => {
    const q = topic('partial')
    const publisher = publisherFor()
    const already = outboxMessage(q)
    expect((await publisher.publish([already], { signal: signal() }))[0]?.ok).toBe(true)
    // Every add INCRs the queue's id counter first: a counter that is not a number fails every add script.
    await redis.set(`${prefix}:${q}:id`, 'not a number')
    const fresh = outboxMessage(q)
    const results = await publisher.publish([already, fresh], { signal: signal() })
    expect(results[0]).toEqual({ ok: true })
    const f = failure(results[1])
    expect(f?.error).toBeInstanceOf(BullmqPublishError)
    expect(f?.error).toMatchObject({ reason: 'refused', messageId: fresh.messageId, queue: q })
    expect(f?.error.message).toMatch(/not an integer/)
    expect(f?.transport).toBe(false)
    expect(f?.permanent).toBeUndefined()
  })

  describe('Redis unreachable', () => {
    let proxy: TcpProxy
    let client: Redis
    beforeAll(async () => {
      const target = new URL(serviceUrls().redisUrl)
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
      // Commands fail after one reconnect attempt instead of queueing for the outage.
      client = new Redis({ port: proxy.port, maxRetriesPerRequest: 1, retryStrategy: () => 50 })
      client.on('error', () => {})
    })
    afterAll(async () => {
      client.disconnect()
      await proxy.close()
    })

    test('reports transport failures (no attempt spent) and publishes everything once Redis is back', async () => {
      const q = topic('outage')
      const publisher = bullmqPublisher({ connection: client, prefix, logger: recordingLogger() })
      toClose.push({ close: () => publisher.close?.() ?? Promise.resolve() })
      const first = outboxMessage(q)
      expect((await publisher.publish([first], { signal: signal() }))[0]?.ok).toBe(true)

      proxy.refuse(true)
      proxy.dropAll()
      const later = [outboxMessage(q), outboxMessage(q)]
      const results = await publisher.publish(later, { signal: signal() })
      for (const r of results) {
        expect(failure(r)?.transport).toBe(true)
        expect(failure(r)?.error).toBeInstanceOf(BullmqPublishError)
        expect(failure(r)?.error).toMatchObject({ reason: 'unavailable' })
      }
      // A publish the relay gives up on (its publishTimeout) is a transport failure too.
      const aborted = new AbortController()
      const pending = publisher.publish(later, { signal: aborted.signal })
      aborted.abort(new Error('publish timeout'))
      expect((await pending).map((r) => failure(r)?.transport)).toEqual([true, true])

      proxy.refuse(false)
      await waitFor(async () => (await publisher.publish(later, { signal: signal() })).every((r) => r.ok), { timeoutMs: 10_000, message: 'publishing again' })
      expect((await worker(q).ran(3)).map((j) => j.id)).toEqual([first, ...later].map((m) => m.messageId))
    })
  })

  test('a closed publisher reports transport failures; close() can be called twice', async () => {
    const publisher = bullmqPublisher({ connection: redis, prefix })
    await publisher.close?.()
    await publisher.close?.()
    const [r] = await publisher.publish([outboxMessage(topic('closed'))], { signal: signal() })
    expect(failure(r)?.transport).toBe(true)
    expect(failure(r)?.error.message).toMatch(/publisher is closed/)
    expect(await redis.ping()).toBe('PONG')
  })
})

test('BullmqAddError, the former name of BullmqPublishError, is the same class', () => {
  expect(BullmqAddError).toBe(BullmqPublishError)
})
