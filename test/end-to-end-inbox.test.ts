import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, processOnce, withTransaction } from '@txbox/core'
import { consumeRabbitmq, rabbitmqPublisher } from '@txbox/rabbitmq'
import { consumeRedisStream, redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import amqplib from 'amqplib'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

// End to end, through real brokers: enqueue → relay → broker → consumer helper
// → processOnce. A message delivered twice (at least once) has its effect once,
// and a handler that fails leaves no trace, so the redelivery runs it again.

const t = useTestDatabase('e2e_inbox')
const opts = () => ({ schema: t.schema })
const effects = async (table: string) =>
  (await sql<{ message_id: string }>`select message_id from ${sql.id(t.schema, table)} order by id`.execute(t.db)).rows.map((r) => r.message_id)

beforeAll(async () => {
  await migrate(t.db, opts())
  await sql`create table ${sql.id(t.schema, 'redis_effects')} (id serial primary key, message_id text not null)`.execute(t.db)
  await sql`create table ${sql.id(t.schema, 'rabbit_effects')} (id serial primary key, message_id text not null)`.execute(t.db)
})

// The documented one-liner type-checks: wrap may return processOnce's result.
const documentedWrap: Parameters<typeof consumeRedisStream>[0]['wrap'] = (m, run) => processOnce(t.db, m.messageId, run)
void documentedWrap

/** A handler's side effect, written in the inbox transaction: `withTransaction(t.db)` joins it. */
const recordEffect = (table: string, messageId: string) =>
  withTransaction(t.db, (trx) => trx.insertInto(`${t.schema}.${table}`).values({ message_id: messageId }).execute())

describe('Redis: relay → stream → consumeRedisStream → processOnce', () => {
  const redis = new Redis(serviceUrls().redisUrl)
  const stream = `${uniqueName('e2e')}:welcome`
  afterAll(async () => {
    await redis.del(stream)
    await redis.quit()
  })

  test('a duplicate is handled once, and a failed handler runs again on redelivery', async () => {
    const relay = createRelay({ db: t.db, publisher: redisStreamsPublisher({ redis, stream }), ...opts() })
    const ids = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic: 'welcome', key: `user:${n}`, payload: { n } })), opts()),
    )
    expect(await relay.runOnce()).toBe(3)
    // The broker got message 1 a second time (a relay that died before its COMMIT).
    const [first] = await redis.xrange(stream, '-', '+', 'COUNT', 1)
    await redis.xadd(stream, '*', ...(first?.[1] ?? []))

    let failOnce = true
    const attempts: string[] = []
    const deliveries: string[] = []
    const duplicates: string[] = []
    const consumer = await consumeRedisStream<{ n: number }>({
      redis, stream, group: 'mailer', consumer: 'c1', blockMs: 50, claimIdleMs: 100,
      wrap: async (m, run) => {
        deliveries.push(m.messageId)
        const r = await processOnce(t.db, m.messageId, run, { ...opts(), consumer: 'mailer' })
        if (r.status === 'duplicate') duplicates.push(m.messageId)
      },
      handler: async (m) => {
        attempts.push(m.messageId)
        await recordEffect('redis_effects', m.messageId)
        if (m.payload.n === 2 && failOnce) {
          failOnce = false
          throw new Error('smtp timeout')
        }
      },
    })
    try {
      // 5 deliveries: three messages, the duplicate, and the retry of the failed one.
      await waitFor(async () => deliveries.length === 5 && Number(((await redis.xpending(stream, 'mailer')) as [number])[0]) === 0, { timeoutMs: 10_000 })
    } finally {
      await consumer.stop()
    }
    expect((await effects('redis_effects')).sort()).toEqual([...ids].sort())
    expect(attempts.filter((id) => id === ids[1])).toHaveLength(2) // failed once, ran again
    expect(attempts.filter((id) => id === ids[0])).toHaveLength(1) // the duplicate was skipped
    expect(duplicates).toEqual([ids[0]])
  })
})

describe('RabbitMQ: relay → exchange → consumeRabbitmq → processOnce', () => {
  const exchange = uniqueName('e2e_x')
  const queue = uniqueName('e2e_q')
  let connection: Awaited<ReturnType<typeof amqplib.connect>>
  beforeAll(async () => {
    connection = await amqplib.connect(serviceUrls().amqpUrl)
    const ch = await connection.createChannel()
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false })
    await ch.assertQueue(queue, { durable: false })
    await ch.bindQueue(queue, exchange, 'welcome')
    await ch.close()
  })
  afterAll(async () => {
    const ch = await connection.createChannel()
    await ch.deleteQueue(queue)
    await ch.deleteExchange(exchange)
    await ch.close()
    await connection.close()
  })

  test('a duplicate is handled once, and a failed handler runs again on redelivery', async () => {
    const publisher = rabbitmqPublisher({ connection, exchange, assertExchange: false })
    const relay = createRelay({ db: t.db, publisher, ...opts() })
    const ids = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic: 'welcome', key: `user:${n}`, payload: { n } })), opts()),
    )
    const sent: OutboxMessage[] = []
    relay.on('published', (e) => sent.push(...e.messages))
    expect(await relay.runOnce()).toBe(3)
    // Deliver message 1 again, as a relay that died before its COMMIT would.
    const [again] = await publisher.publish([sent[0] as OutboxMessage], { signal: new AbortController().signal })
    expect(again?.ok).toBe(true)

    let failOnce = true
    const attempts: string[] = []
    const deliveries: string[] = []
    const duplicates: string[] = []
    const consumer = await consumeRabbitmq<{ n: number }>({
      connection, queue, prefetch: 5, maxDeliveries: 5,
      wrap: async (m, run) => {
        deliveries.push(m.messageId)
        const r = await processOnce(t.db, m.messageId, run, { ...opts(), consumer: 'mailer' })
        if (r.status === 'duplicate') duplicates.push(m.messageId)
      },
      handler: async (m) => {
        attempts.push(m.messageId)
        await recordEffect('rabbit_effects', m.messageId)
        if (m.payload.n === 2 && failOnce) {
          failOnce = false
          throw new Error('smtp timeout')
        }
      },
    })
    try {
      await waitFor(() => deliveries.length === 5 && duplicates.length === 1 && attempts.length === 4, { timeoutMs: 10_000 })
    } finally {
      await consumer.stop()
      await publisher.close?.()
    }
    expect((await effects('rabbit_effects')).sort()).toEqual([...ids].sort())
    expect(attempts.filter((id) => id === ids[1])).toHaveLength(2)
    expect(duplicates).toEqual([ids[0]])
  })
})
