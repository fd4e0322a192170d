import { createRelay, enqueueOnCommit, migrate, processOnce, withTransaction } from '@txbox/core'
import { rabbitmqPublisher } from '@txbox/rabbitmq'
import { redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls, uniqueName, useTestDatabase, waitForValue } from '@txbox/testing'
import amqplib from 'amqplib'
import { Redis } from 'ioredis'
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'

// No plugin of the user's Kysely instance changes what txbox reads or writes.
// CamelCasePlugin is common in existing apps: it renamed the relay's columns
// (message_id → messageId), and every message went out with an empty id (Redis)
// or could not be published at all (RabbitMQ).

const t = useTestDatabase('kysely_plugins')
const opts = () => ({ schema: t.schema })
const camel = new Kysely<any>({ dialect: new PostgresDialect({ pool: t.pool }), plugins: [new CamelCasePlugin()] })

beforeAll(async () => {
  await migrate(camel, opts())
})

async function enqueueThroughCamelCase(topic: string): Promise<string[]> {
  return withTransaction(camel, (trx) =>
    enqueueOnCommit(trx, [1, 2].map((n) => ({ topic, key: `user:${n}`, payload: { userId: n, some_field: 'x' }, headers: { traceHint: 'a' } })), opts()),
  )
}

describe('a Kysely db with CamelCasePlugin', () => {
  test('relays to Redis with ids, payloads and headers intact', async () => {
    const redis = new Redis(serviceUrls().redisUrl)
    const stream = `${uniqueName('camel')}:stream`
    try {
      const ids = await enqueueThroughCamelCase('camel.redis')
      const relay = createRelay({ db: camel, publisher: redisStreamsPublisher({ redis, stream }), ...opts() })
      expect(await relay.runOnce()).toBe(2)
      const entries = (await redis.xrange(stream, '-', '+')).map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])))
      expect(entries.map((e) => e.messageId)).toEqual(ids)
      expect(entries.map((e) => JSON.parse(e.payload as string))).toEqual([
        { userId: 1, some_field: 'x' },
        { userId: 2, some_field: 'x' },
      ])
      expect(JSON.parse(entries[0]?.headers as string)).toMatchObject({ traceHint: 'a' })
      // The inbox through the same db.
      expect(await processOnce(camel, ids[0] as string, async () => 'done', opts())).toMatchObject({ status: 'processed' })
      expect(await processOnce(camel, ids[0] as string, async () => 'again', opts())).toMatchObject({ status: 'duplicate' })
    } finally {
      await redis.del(stream)
      await redis.quit()
    }
  })

  test('relays to RabbitMQ with ids and payloads intact', async () => {
    const exchange = uniqueName('camel_x')
    const connection = await amqplib.connect(serviceUrls().amqpUrl)
    const channel = await connection.createChannel()
    const publisher = rabbitmqPublisher({ url: serviceUrls().amqpUrl, exchange })
    try {
      await channel.assertExchange(exchange, 'topic', { durable: true })
      const { queue } = await channel.assertQueue('', { exclusive: true })
      await channel.bindQueue(queue, exchange, '#')
      const ids = await enqueueThroughCamelCase('camel.rabbit')
      const relay = createRelay({ db: camel, publisher, ...opts() })
      expect(await relay.runOnce()).toBe(2)
      const received: { id: string; payload: unknown }[] = []
      await channel.consume(queue, (m) => m && received.push({ id: m.properties.messageId, payload: JSON.parse(m.content.toString()) }), { noAck: true })
      await waitForValue(() => received.length, (n) => n >= 2)
      expect(received.map((r) => r.id)).toEqual(ids)
      expect(received.map((r) => r.payload)).toEqual([
        { userId: 1, some_field: 'x' },
        { userId: 2, some_field: 'x' },
      ])
    } finally {
      await publisher.close?.()
      await channel.deleteExchange(exchange)
      await connection.close()
    }
  })
})
