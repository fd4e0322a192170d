import { bullmqPublisher } from '@txbox/bullmq'
import { createRelay, enqueueOnCommit, migrate, type Publisher, type Relay, silentLogger, withTransaction } from '@txbox/core'
import { useTestDatabase, waitFor } from '@txbox/testing'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { RecordingWorker, removeQueues, testPrefix, testRedis } from './bullmq-test-queues.js'

const t = useTestDatabase('bullmq_relay')
const prefix = testPrefix('relay')
let redis: Redis
const toClose: { close(): Promise<unknown> }[] = []

beforeAll(async () => {
  redis = testRedis()
  await migrate(t.db, { schema: t.schema })
})
afterAll(async () => {
  for (const c of toClose.reverse()) await c.close()
  await removeQueues(redis, prefix)
  await redis.quit()
})

function worker(queue: string): RecordingWorker {
  const w = new RecordingWorker(queue, prefix)
  toClose.push(w)
  return w
}

function startRelay(publisher: Publisher): Relay {
  const relay = createRelay({ db: t.db, publisher, schema: t.schema, batchSize: 25, pollInterval: 20, backoff: { initialDelay: 10, maxDelay: 50 }, logger: silentLogger })
  toClose.push({ close: () => relay.stop() })
  toClose.push({ close: () => publisher.close?.() ?? Promise.resolve() })
  return relay
}

const rows = async (table: 'outbox' | 'outbox_dead') =>
  (await sql<{ message_id: string; last_error: string | null }>`select message_id, last_error from ${sql.id(t.schema, table)} order by id`.execute(t.db)).rows

describe('bullmqPublisher through the relay', () => {
  test('committed messages become jobs that workers run once each, in per-key order; rolled-back ones never; an id BullMQ refuses is dead-lettered at once', async () => {
    const topics = ['signup', 'invoice']
    const expected = new Map<string, number[]>()
    let seq = 0
    for (let i = 0; i < 40; i++) {
      const topic = topics[i % 2] as string
      const key = `k${i % 4}`
      await withTransaction(t.db, async (trx) => {
        await enqueueOnCommit(trx, [{ topic, key, payload: { key, seq } }, { topic, key, payload: { key, seq: seq + 1 } }], { schema: t.schema })
      })
      expected.set(`${topic}/${key}`, [...(expected.get(`${topic}/${key}`) ?? []), seq, seq + 1])
      seq += 2
    }
    await withTransaction(t.db, async (trx) => {
      await enqueueOnCommit(trx, { topic: 'signup', key: 'k0', payload: { key: 'k0', seq: -1 } }, { schema: t.schema })
      throw new Error('roll back')
    }).catch(() => {})
    const [refused] = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'signup', messageId: '12345', payload: { seq: -2 } }, { schema: t.schema }))

    const workers = topics.map((topic) => worker(topic))
    const relay = startRelay(bullmqPublisher({ connection: redis, prefix, logger: silentLogger }))
    await relay.start()
    const ran = await Promise.all(workers.map((w) => w.ran(40)))
    await waitFor(async () => (await rows('outbox')).length === 0, { message: 'outbox drained' })
    await relay.stop()

    const byKey = new Map<string, number[]>()
    ran.forEach((jobs, i) => {
      for (const job of jobs) {
        expect(job.name).toBe(topics[i])
        const { key, seq } = job.data as { key: string; seq: number }
        byKey.set(`${topics[i]}/${key}`, [...(byKey.get(`${topics[i]}/${key}`) ?? []), seq])
      }
    })
    expect(byKey).toEqual(expected)
    expect(workers.map((w) => w.processed.length)).toEqual([40, 40])
    const dead = await rows('outbox_dead')
    expect(dead.map((r) => r.message_id)).toEqual([refused])
    expect(dead[0]?.last_error).toMatch(/cannot be a BullMQ job id/)
  })

  test('a publish repeated after the relay lost its transaction (BullMQ had the jobs) adds no second job', async () => {
    const topic = 'repeated'
    const ids = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(
        trx,
        Array.from({ length: 10 }, (_, seq) => ({ topic, payload: { seq } })),
        { schema: t.schema },
      ),
    )
    const real = bullmqPublisher({ connection: redis, prefix, logger: silentLogger })
    let calls = 0
    // The first call reaches BullMQ, then fails as a relay killed before its
    // commit would: the rows stay in the outbox and are published again.
    const crashingOnce: Publisher = {
      stopsKeyOnFailure: real.stopsKeyOnFailure,
      async publish(messages, context) {
        const results = await real.publish(messages, context)
        if (++calls === 1) throw new Error('relay lost its transaction after the broker took the batch')
        return results
      },
      close: () => real.close?.() ?? Promise.resolve(),
    }
    const w = worker(topic)
    const relay = startRelay(crashingOnce)
    await relay.start()
    await waitFor(async () => (await rows('outbox')).length === 0, { message: 'outbox drained' })
    await relay.stop()
    await w.ran(10)
    expect(calls).toBeGreaterThanOrEqual(2)
    expect(w.processed.map((j) => j.id).sort()).toEqual([...ids].sort())
    // BullMQ saw the repeat: one `duplicated` event per message, and no second job.
    const events = await redis.xrange(`${prefix}:${topic}:events`, '-', '+')
    const duplicated = events.filter(([, fields]) => fields[1] === 'duplicated').length
    expect(duplicated).toBe(10)
    expect(w.processed).toHaveLength(10)
  })

  test("pipelineKeys: a batch holding several messages of one key goes in one call (default: one call per message of the key, the relay's waves)", async () => {
    const callsFor = async (topic: string, pipelineKeys: boolean) => {
      await withTransaction(t.db, (trx) =>
        enqueueOnCommit(
          trx,
          Array.from({ length: 6 }, (_, seq) => ({ topic, key: 'one-key', payload: { seq } })),
          { schema: t.schema },
        ),
      )
      const real = bullmqPublisher({ connection: redis, prefix, logger: silentLogger, pipelineKeys })
      expect(real.stopsKeyOnFailure).toBe(pipelineKeys)
      let calls = 0
      const counting: Publisher = {
        stopsKeyOnFailure: real.stopsKeyOnFailure,
        publish: (messages, context) => {
          calls++
          return real.publish(messages, context)
        },
        close: () => real.close?.() ?? Promise.resolve(),
      }
      const w = worker(topic)
      const relay = startRelay(counting)
      // In waves the relay claims few rows per lane: claim until the outbox is drained.
      let published = 0
      for (let n = await relay.runOnce(); n > 0; n = await relay.runOnce()) published += n
      expect(published).toBe(6)
      await w.ran(6)
      expect(w.processed.map((j) => (j.data as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4, 5])
      return calls
    }
    expect(await callsFor('waves', false)).toBe(6)
    expect(await callsFor('pipelined', true)).toBe(1)
  })
})
