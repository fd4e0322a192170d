import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { rabbitmqPublisher } from '@txbox/rabbitmq'
import { redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import amqplib from 'amqplib'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

// What enqueueOnCommit accepts at its limits, every supported broker carries
// unchanged: names of exactly 255 bytes of multi-byte UTF-8 (an AMQP short
// string's limit), emoji in every field. And a message delayed to the latest
// time a Date holds sits in the outbox without disturbing the relay.

const t = useTestDatabase('e2e_limits')
const opts = () => ({ schema: t.schema })

const EMOJI = '😀'
const TOPIC = `${'é'.repeat(127)}x` // 255 bytes, 128 characters
const KEY = '€'.repeat(85) // 255 bytes
const MESSAGE_ID = `${EMOJI.repeat(63)}abc` // 255 bytes
const HEADER = `${'ü'.repeat(126)}abc` // 255 bytes
const message = {
  topic: TOPIC,
  key: KEY,
  messageId: MESSAGE_ID,
  headers: { [HEADER]: `v ${EMOJI}`, 'x with spaces': '' },
  payload: { [`k${EMOJI}`]: [EMOJI, '日本語', 'tab\tcontrol\u0001', 'C:\\users\\u0000'] },
}

beforeAll(async () => {
  await migrate(t.db, opts())
})

/** Enqueues the message at its limits and one delayed to year 275760, and runs one relay cycle. */
async function relayOnce(publisher: Parameters<typeof createRelay>[0]['publisher']) {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
  await withTransaction(t.db, (trx) =>
    enqueueOnCommit(trx, [message, { topic: 'far', payload: 1, availableAt: new Date(8.64e15) }], opts()),
  )
  const relay = createRelay({ db: t.db, publisher, ...opts() })
  const errors: unknown[] = []
  relay.on('error', (e) => errors.push(e))
  relay.on('failed', (e) => errors.push(e.error))
  expect(await relay.runOnce()).toBe(1)
  expect(await relay.runOnce()).toBe(0)
  expect(errors).toEqual([])
  const left = await sql<{ topic: string }>`select topic from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
  expect(left.rows).toEqual([{ topic: 'far' }])
}

describe('RabbitMQ carries what enqueue accepts at its limits', () => {
  const exchange = uniqueName('limits_x')
  const queue = uniqueName('limits_q')
  let connection: Awaited<ReturnType<typeof amqplib.connect>>
  beforeAll(async () => {
    connection = await amqplib.connect(serviceUrls().amqpUrl)
    const ch = await connection.createChannel()
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false })
    await ch.assertQueue(queue, { durable: false })
    await ch.bindQueue(queue, exchange, '#')
    await ch.close()
  })
  afterAll(async () => {
    const ch = await connection.createChannel()
    await ch.deleteQueue(queue)
    await ch.deleteExchange(exchange)
    await ch.close()
    await connection.close()
  })

  test('a 255-byte routing key, message id and header name arrive unchanged', async () => {
    const publisher = rabbitmqPublisher({ connection, exchange, assertExchange: false })
    try {
      await relayOnce(publisher)
    } finally {
      await publisher.close?.()
    }
    const ch = await connection.createChannel()
    try {
      let got: amqplib.GetMessage | false = false
      await waitFor(async () => {
        got = await ch.get(queue, { noAck: true })
        return got !== false
      }, { timeoutMs: 5000 })
      const m = got as unknown as amqplib.GetMessage
      expect(m.fields.routingKey).toBe(TOPIC)
      expect(m.properties.messageId).toBe(MESSAGE_ID)
      expect(m.properties.headers).toMatchObject({ ...message.headers, 'txbox-key': KEY, 'txbox-topic': TOPIC })
      expect(JSON.parse(m.content.toString('utf8'))).toEqual(message.payload)
    } finally {
      await ch.close()
    }
  })
})

describe('Redis carries what enqueue accepts at its limits', () => {
  const redis = new Redis(serviceUrls().redisUrl)
  const stream = `${uniqueName('limits')}:stream`
  afterAll(async () => {
    await redis.del(stream)
    await redis.quit()
  })

  test('the same message arrives unchanged in the stream entry', async () => {
    await relayOnce(redisStreamsPublisher({ redis, stream }))
    const entries = await redis.xrange(stream, '-', '+')
    expect(entries).toHaveLength(1)
    const flat = entries[0]?.[1] ?? []
    const fields = Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]]] : [])))
    expect(fields).toMatchObject({ messageId: MESSAGE_ID, topic: TOPIC, key: KEY })
    expect(JSON.parse(fields.payload as string)).toEqual(message.payload)
    expect(JSON.parse(fields.headers as string)).toEqual(message.headers)
  })
})
