import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, type Publisher, type PublishResult, withTransaction } from '@txbox/core'
import { type RabbitmqPublishError, rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, useTestDatabase, waitFor, waitForValue } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Admin, type AdminChannel, closeConnectionsNamed, connectionPids, openAdmin } from './broker.js'
import { holdingProxy } from './holding-proxy.js'

const t = useTestDatabase('rmq_relay')
const exchange = uniqueName('rmq_relay')
let admin: Admin
let channel: AdminChannel
const queues: string[] = []

/** A queue bound to the exchange for `routingKeys`, collecting what arrives (in broker order). */
async function collect(...routingKeys: string[]): Promise<{ queue: string; received: { messageId: string; key: string | null; seq: number }[] }> {
  const { queue } = await channel.assertQueue(uniqueName('rmq_relay_q'), { durable: false })
  queues.push(queue)
  for (const rk of routingKeys) await channel.bindQueue(queue, exchange, rk)
  const received: { messageId: string; key: string | null; seq: number }[] = []
  await channel.consume(
    queue,
    (m) => {
      if (!m) return
      const key = m.properties.headers?.['txbox-key']
      received.push({ messageId: m.properties.messageId, key: key === undefined ? null : String(key), seq: JSON.parse(m.content.toString()).seq })
    },
    { noAck: true },
  )
  return { queue, received }
}

async function enqueue(messages: { topic: string; key?: string; seq: number }[]): Promise<string[]> {
  return withTransaction(t.db, (trx) =>
    enqueueOnCommit(
      trx,
      messages.map((m) => ({ topic: m.topic, key: m.key, payload: { seq: m.seq } })),
      { schema: t.schema },
    ),
  )
}

const outboxRows = async () =>
  (await sql<{ message_id: string; attempts: number; last_error: string | null }>`select message_id, attempts, last_error from ${sql.table(`${t.schema}.outbox`)} order by id`.execute(t.db)).rows
const deadRows = async () =>
  (await sql<{ message_id: string; attempts: number; last_error: string | null }>`select message_id, attempts, last_error from ${sql.table(`${t.schema}.outbox_dead`)} order by id`.execute(t.db)).rows

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  ;({ connection: admin, channel } = await openAdmin(`${exchange}-admin`))
  await channel.assertExchange(exchange, 'topic', { durable: true })
})

afterAll(async () => {
  for (const q of queues) await channel.deleteQueue(q)
  await channel.deleteExchange(exchange)
  await admin.close()
})

describe('rabbitmqPublisher through the relay', () => {
  test('an unroutable message stays in the outbox with its attempt counted, never deleted as published; it goes dead after maxAttempts', async () => {
    const publisher = rabbitmqPublisher({ url: serviceUrls().amqpUrl, exchange })
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, maxAttempts: 2, backoff: { initialDelay: 1, maxDelay: 1 } })
    try {
      const [id] = await enqueue([{ topic: `${exchange}.unbound`, seq: 1 }])
      expect(await relay.runOnce()).toBe(0)
      const rows = await outboxRows()
      expect(rows).toEqual([{ message_id: id, attempts: 1, last_error: expect.stringContaining('unroutable') }])
      await waitFor(async () => {
        await relay.runOnce()
        return (await deadRows()).length === 1
      })
      expect(await outboxRows()).toEqual([])
      expect(await deadRows()).toEqual([{ message_id: id, attempts: 2, last_error: expect.stringContaining('unroutable') }])
      // A dead letter's error says what happened, not that it would be retried (it was not).
      expect((await deadRows())[0]?.last_error).not.toMatch(/retried/)
    } finally {
      await relay.stop()
      await publisher.close?.()
      await sql`delete from ${sql.table(`${t.schema}.outbox_dead`)}`.execute(t.db)
    }
  })

  test('a message whose headers do not fit in one AMQP frame goes to the dead letters on its first attempt; its neighbours are published on that same cycle, on the same connection', async () => {
    const connectionName = uniqueName('rmq_relay_frame')
    const publisher = rabbitmqPublisher({ url: serviceUrls().amqpUrl, exchange, connectionName })
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, backoff: { initialDelay: 1, maxDelay: 1 } })
    try {
      const topic = `${exchange}.frame`
      const { received } = await collect(topic)
      const ids = await withTransaction(t.db, (trx) =>
        enqueueOnCommit(
          trx,
          [1, 2, 3, 4].map((seq) => ({ topic, key: `k${seq}`, payload: { seq }, headers: seq === 2 ? { big: 'x'.repeat(200_000) } : {} })),
          { schema: t.schema },
        ),
      )
      await relay.runOnce()
      const [pid] = await connectionPids(connectionName)
      expect(pid).toBeDefined()
      expect(await outboxRows()).toEqual([])
      expect(await deadRows()).toEqual([{ message_id: ids[1], attempts: 1, last_error: expect.stringContaining('headers') }])
      await waitFor(() => received.length >= 3)
      expect(received.map((m) => m.seq)).toEqual([1, 3, 4])
      expect(await connectionPids(connectionName)).toEqual([pid])
    } finally {
      await relay.stop()
      await publisher.close?.()
      await sql`delete from ${sql.table(`${t.schema}.outbox_dead`)}`.execute(t.db)
    }
  })

  test("per-key order: an unroutable head message holds back its key's later messages, and not the other keys", async () => {
    const publisher = rabbitmqPublisher({ url: serviceUrls().amqpUrl, exchange })
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, backoff: { initialDelay: 1, maxDelay: 1 } })
    try {
      const late = `${exchange}.late`
      const bound = `${exchange}.bound`
      // One queue for both routing keys: broker order across them is the order the relay published in.
      const { received, queue } = await collect(bound)
      await enqueue([
        { topic: late, key: 'a', seq: 1 },
        { topic: bound, key: 'a', seq: 2 },
        { topic: bound, key: 'a', seq: 3 },
        { topic: bound, key: 'b', seq: 4 },
        { topic: bound, key: 'b', seq: 5 },
      ])
      await relay.runOnce()
      await waitFor(() => received.length >= 2)
      expect(received.map((m) => m.seq)).toEqual([4, 5])
      expect((await outboxRows()).map((r) => r.attempts)).toEqual([1, 0, 0])
      await channel.bindQueue(queue, exchange, late)
      await waitFor(async () => {
        await relay.runOnce()
        return (await outboxRows()).length === 0
      })
      await waitFor(() => received.length >= 5)
      expect(received.filter((m) => m.key === 'a').map((m) => m.seq)).toEqual([1, 2, 3])
    } finally {
      await relay.stop()
      await publisher.close?.()
    }
  })

  test("pipelineKeys: a batch goes in one confirm window; an unroutable head is overtaken by its key's later messages of that batch (the trade), and later batches wait behind it", async () => {
    const inner = rabbitmqPublisher({ url: serviceUrls().amqpUrl, exchange, pipelineKeys: true })
    expect(inner.stopsKeyOnFailure).toBe(true)
    let calls = 0
    const publisher: Publisher = {
      stopsKeyOnFailure: inner.stopsKeyOnFailure,
      publish: (messages, context) => {
        calls++
        return inner.publish(messages, context)
      },
      close: () => inner.close?.() ?? Promise.resolve(),
    }
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, backoff: { initialDelay: 1, maxDelay: 1 } })
    try {
      const late = `${exchange}.pipelined-late`
      const bound = `${exchange}.pipelined`
      const { received, queue } = await collect(bound)
      await enqueue([
        { topic: late, key: 'a', seq: 1 },
        { topic: bound, key: 'a', seq: 2 },
        { topic: bound, key: 'a', seq: 3 },
        { topic: bound, key: 'b', seq: 4 },
        { topic: bound, key: 'b', seq: 5 },
      ])
      await relay.runOnce()
      expect(calls).toBe(1)
      await waitFor(() => received.length >= 4)
      // The trade: 2 and 3 were in the confirm window with 1, and are not taken back.
      expect(received.map((m) => m.seq)).toEqual([2, 3, 4, 5])
      expect((await outboxRows()).map((r) => r.attempts)).toEqual([1])
      // A later batch of key a waits behind its failed head.
      await enqueue([{ topic: bound, key: 'a', seq: 6 }])
      await relay.runOnce()
      const waiting = await outboxRows()
      expect(waiting).toHaveLength(2)
      expect(waiting[1]?.attempts).toBe(0)
      expect(received).toHaveLength(4)
      await channel.bindQueue(queue, exchange, late)
      await waitFor(async () => {
        await relay.runOnce()
        return (await outboxRows()).length === 0
      })
      await waitFor(() => received.length >= 6)
      expect(received.filter((m) => m.key === 'a').map((m) => m.seq)).toEqual([2, 3, 1, 6])
    } finally {
      await relay.stop()
      await publisher.close?.()
    }
  })

  test('the broker closing the connection with confirms in flight loses nothing: that batch fails, and delivery resumes on a new connection', async () => {
    const proxy = await holdingProxy(serviceUrls().amqpUrl)
    const connectionName = uniqueName('rmq_relay_pub')
    const inner = rabbitmqPublisher({ url: proxy.url, exchange, connectionName })
    const topic = `${exchange}.cut`
    const { received } = await collect(topic)
    let calls = 0
    let cutBatch: readonly PublishResult[] | undefined
    let killed: string[] = []
    // On its second batch, the broker closes the connection after it received
    // the messages and sent its confirms, which the proxy holds back.
    const publisher: Publisher = {
      async publish(messages: readonly OutboxMessage[], context) {
        calls++
        if (calls !== 2) return inner.publish(messages, context)
        proxy.hold()
        const results = inner.publish(messages, context)
        await waitFor(() => proxy.heldBytes() > 0)
        killed = await closeConnectionsNamed(connectionName)
        proxy.release()
        cutBatch = await results
        return cutBatch
      },
    }
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, batchSize: 25, pollInterval: 20, backoff: { initialDelay: 50, maxDelay: 200 } })
    let failed = 0
    let unreachable = 0
    relay.on('failed', () => failed++)
    relay.on('unreachable', () => unreachable++)
    try {
      const keys = ['k0', 'k1', 'k2', 'k3']
      const ids = await enqueue(Array.from({ length: 200 }, (_, i) => ({ topic, key: keys[i % 4], seq: i })))
      relay.start()
      await waitFor(async () => (await outboxRows()).length === 0, { timeoutMs: 20_000 })
      await waitFor(() => new Set(received.map((m) => m.messageId)).size === ids.length, { timeoutMs: 10_000 })

      expect(cutBatch?.length).toBeGreaterThan(0)
      for (const r of cutBatch ?? []) expect(r.ok === false && (r.error as RabbitmqPublishError).reason).toBe('channel-closed')
      // A lost connection is not the messages' fault: no attempt is spent, the relay reports the broker unreachable.
      for (const r of cutBatch ?? []) expect(r.ok === false && r.transport).toBe(true)
      expect(failed).toBe(0)
      expect(unreachable).toBe(1)
      expect(new Set(received.map((m) => m.messageId))).toEqual(new Set(ids))
      // The broker did route the cut batch: those messages arrive twice (at least once), each key still in order of first arrival.
      for (const key of keys) {
        const seen = new Set<number>()
        const firsts = received.filter((m) => m.key === key && !seen.has(m.seq) && seen.add(m.seq)).map((m) => m.seq)
        expect(firsts).toEqual([...firsts].sort((a, b) => a - b))
      }
      expect(killed).toHaveLength(1)
      // The killed connection is gone and the publisher runs on a new one.
      await waitForValue(
        () => connectionPids(connectionName),
        (pids) => pids.length === 1 && pids[0] !== killed[0],
        { message: 'one new connection' },
      )
    } finally {
      await relay.stop()
      await inner.close?.()
      await proxy.close()
    }
  })
})
