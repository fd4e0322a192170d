import { InvalidOptionError, type OutboxMessage, TxboxError } from '@txbox/core'
import { RabbitmqPublishError, rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, waitFor, waitForValue } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Admin, type AdminChannel, closeConnectionsNamed, connectionPids, openAdmin } from './broker.js'
import { holdingProxy } from './holding-proxy.js'

const url = serviceUrls().amqpUrl
const exchange = uniqueName('rmq_pub')
let admin: Admin
let channel: AdminChannel
const queues: string[] = []
const exchanges: string[] = [exchange]
let seq = 0

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  seq++
  return {
    id: String(seq),
    messageId: `${exchange}-m${seq}`,
    topic: `${exchange}.t`,
    key: null,
    payload: JSON.stringify({ n: seq }),
    headers: {},
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  }
}

/** A queue bound to `ex` for `routingKey`. */
async function boundQueue(routingKey: string, ex = exchange): Promise<string> {
  const { queue } = await channel.assertQueue(uniqueName('rmq_pub_q'), { durable: false })
  queues.push(queue)
  await channel.bindQueue(queue, ex, routingKey)
  return queue
}

async function getOne(queue: string) {
  const got = await waitForValue(
    () => channel.get(queue, { noAck: true }),
    (m) => m !== false,
    { timeoutMs: 5000, message: `a message on ${queue}` },
  )
  if (got === false) throw new Error('unreachable')
  return got
}

const signal = () => new AbortController().signal

beforeAll(async () => {
  ;({ connection: admin, channel } = await openAdmin(`${exchange}-admin`))
  await channel.assertExchange(exchange, 'topic', { durable: true })
})

afterAll(async () => {
  for (const q of queues) await channel.deleteQueue(q)
  for (const ex of exchanges) await channel.deleteExchange(ex)
  await admin.close()
})

describe('rabbitmqPublisher', () => {
  test('publishes persistent, with messageId, contentType, timestamp, txbox headers and the message headers; the body is the JSON text as enqueued', async () => {
    const publisher = rabbitmqPublisher({ url, exchange })
    try {
      const topic = `${exchange}.props`
      const queue = await boundQueue(topic)
      const payload = '{"b": 1,  "a": [1, 2], "s": "Zoë"}'
      const createdAt = new Date('2026-03-04T05:06:07.890Z')
      const m = message({ topic, key: 'user:42', payload, createdAt, headers: { 'x-tenant': 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })
      expect(await publisher.publish([m], { signal: signal() })).toEqual([{ ok: true }])
      const got = await getOne(queue)
      expect(got.fields.exchange).toBe(exchange)
      expect(got.fields.routingKey).toBe(topic)
      expect(got.content.toString('utf8')).toBe(payload)
      expect(got.properties).toMatchObject({
        deliveryMode: 2,
        messageId: m.messageId,
        contentType: 'application/json',
        timestamp: Math.floor(createdAt.getTime() / 1000),
      })
      expect(got.properties.headers).toEqual({
        'x-tenant': 'acme',
        traceparent: m.headers.traceparent,
        'txbox-key': 'user:42',
        'txbox-topic': topic,
      })
    } finally {
      await publisher.close?.()
    }
  })

  test('an unkeyed message carries no txbox-key header, and txbox headers win over same-named message headers', async () => {
    const publisher = rabbitmqPublisher({ url, exchange })
    try {
      const topic = `${exchange}.nokey`
      const queue = await boundQueue(topic)
      const m = message({ topic, headers: { 'txbox-key': 'forged', 'txbox-topic': 'forged' } })
      expect(await publisher.publish([m], { signal: signal() })).toEqual([{ ok: true }])
      const got = await getOne(queue)
      expect(got.properties.headers).toEqual({ 'txbox-topic': topic })
    } finally {
      await publisher.close?.()
    }
  })

  test('routingKey overrides the topic: a fixed string, or a function of the message', async () => {
    const fixed = rabbitmqPublisher({ url, exchange, routingKey: `${exchange}.fixed` })
    const computed = rabbitmqPublisher({ url, exchange, routingKey: (m) => `${exchange}.tenant.${m.headers.tenant}` })
    try {
      const fixedQueue = await boundQueue(`${exchange}.fixed`)
      const tenantQueue = await boundQueue(`${exchange}.tenant.acme`)
      const a = message({ topic: 'orders.created' })
      const b = message({ topic: 'orders.created', headers: { tenant: 'acme' } })
      expect(await fixed.publish([a], { signal: signal() })).toEqual([{ ok: true }])
      expect(await computed.publish([b], { signal: signal() })).toEqual([{ ok: true }])
      const gotA = await getOne(fixedQueue)
      const gotB = await getOne(tenantQueue)
      expect(gotA.properties.messageId).toBe(a.messageId)
      expect(gotA.properties.headers?.['txbox-topic']).toBe('orders.created')
      expect(gotB.properties.messageId).toBe(b.messageId)
    } finally {
      await fixed.close?.()
      await computed.close?.()
    }
  })

  test('an unroutable message fails as returned, although RabbitMQ acks it after the return; its neighbours are published', async () => {
    const publisher = rabbitmqPublisher({ url, exchange })
    try {
      const routed = `${exchange}.routed`
      const queue = await boundQueue(routed)
      const batch = [message({ topic: routed }), message({ topic: `${exchange}.nobody` }), message({ topic: routed })]
      const results = await publisher.publish(batch, { signal: signal() })
      expect(results.map((r) => r.ok)).toEqual([true, false, true])
      const failed = results[1]
      const error = failed && !failed.ok ? failed.error : undefined
      expect(error).toBeInstanceOf(RabbitmqPublishError)
      expect((error as RabbitmqPublishError).reason).toBe('returned')
      expect((error as RabbitmqPublishError).messageId).toBe(batch[1]?.messageId)
      expect(error).toBeInstanceOf(TxboxError)
      expect((error as RabbitmqPublishError).code).toBe('RABBITMQ_PUBLISH')
      expect(failed && !failed.ok && failed.permanent).toBeFalsy()
      expect((await getOne(queue)).properties.messageId).toBe(batch[0]?.messageId)
      expect((await getOne(queue)).properties.messageId).toBe(batch[2]?.messageId)
    } finally {
      await publisher.close?.()
    }
  })

  test('declares the exchange as a durable topic exchange by default', async () => {
    const own = uniqueName('rmq_pub_decl')
    exchanges.push(own)
    const publisher = rabbitmqPublisher({ url, exchange: own })
    try {
      const results = await publisher.publish([message({ topic: 'unbound' })], { signal: signal() })
      expect((results[0] as { error: RabbitmqPublishError }).error.reason).toBe('returned')
      // Passive check: throws (and closes the channel) if it does not exist; re-declaring with other settings would fail.
      await channel.checkExchange(own)
      await channel.assertExchange(own, 'topic', { durable: true })
    } finally {
      await publisher.close?.()
    }
  })

  test('a channel the broker closes fails the messages in flight, and the next call publishes on a new channel', async () => {
    const own = uniqueName('rmq_pub_gone')
    exchanges.push(own)
    await channel.assertExchange(own, 'topic', { durable: true })
    const publisher = rabbitmqPublisher({ url, exchange: own, assertExchange: false })
    try {
      const queue = await boundQueue('k', own)
      expect(await publisher.publish([message({ topic: 'k' })], { signal: signal() })).toEqual([{ ok: true }])
      await getOne(queue)
      // Publishing to a missing exchange makes RabbitMQ close the channel (404).
      await channel.deleteExchange(own)
      const broken = await publisher.publish([message({ topic: 'k' }), message({ topic: 'k' }), message({ topic: 'k' })], { signal: signal() })
      expect(broken.map((r) => r.ok)).toEqual([false, false, false])
      for (const r of broken) {
        expect((r as { error: RabbitmqPublishError }).error.reason).toMatch(/channel-closed|unavailable/)
        expect(r.ok === false && r.permanent).toBeFalsy()
        // The broker's reason, not amqplib's bare "channel closed".
        expect((r as { error: Error }).error.message).toContain('404')
      }
      await channel.assertExchange(own, 'topic', { durable: true })
      await channel.bindQueue(queue, own, 'k')
      const again = message({ topic: 'k' })
      expect(await publisher.publish([again], { signal: signal() })).toEqual([{ ok: true }])
      expect((await getOne(queue)).properties.messageId).toBe(again.messageId)
    } finally {
      await publisher.close?.()
    }
  })

  test('a connection the broker closes (rabbitmqctl close_connection) before it saw the messages fails them for a retry, saying why; none is reported published, and the next call goes out on a new connection', async () => {
    const proxy = await holdingProxy(url)
    const name = uniqueName('rmq_pub_forced')
    const publisher = rabbitmqPublisher({ url: proxy.url, exchange, connectionName: name })
    try {
      const topic = `${exchange}.forced`
      const queue = await boundQueue(topic)
      const first = message({ topic })
      expect(await publisher.publish([first], { signal: signal() })).toEqual([{ ok: true }])
      // The broker never receives the next batch: it closes the connection with its confirms still to come.
      proxy.hold('to-broker')
      const lost = [message({ topic }), message({ topic }), message({ topic })]
      const results = publisher.publish(lost, { signal: AbortSignal.timeout(10_000) })
      await waitFor(() => proxy.heldBytes() > 0)
      const [killed] = await closeConnectionsNamed(name)
      for (const r of await results) {
        expect(r.ok).toBe(false)
        if (r.ok) continue
        expect(r.permanent).toBeFalsy()
        expect((r.error as RabbitmqPublishError).reason).toBe('channel-closed')
        expect(r.error.message).toContain('CONNECTION_FORCED - txbox test: broker closes the connection')
      }
      proxy.release()
      const again = message({ topic })
      expect(await publisher.publish([again], { signal: signal() })).toEqual([{ ok: true }])
      expect((await connectionPids(name)).filter((pid) => pid !== killed)).toHaveLength(1)
      expect((await getOne(queue)).properties.messageId).toBe(first.messageId)
      expect((await getOne(queue)).properties.messageId).toBe(again.messageId)
      expect((await channel.checkQueue(queue)).messageCount).toBe(0)
    } finally {
      await publisher.close?.()
      await proxy.close()
    }
  })

  test('a 15 MB batch is published and confirmed in full in one call', async () => {
    const publisher = rabbitmqPublisher({ url, exchange })
    try {
      const topic = `${exchange}.big`
      const queue = await boundQueue(topic)
      const payload = JSON.stringify({ blob: 'x'.repeat(100_000) })
      const batch = Array.from({ length: 150 }, () => message({ topic, payload }))
      const results = await publisher.publish(batch, { signal: signal() })
      expect(results.every((r) => r.ok)).toBe(true)
      await waitForValue(
        async () => (await channel.checkQueue(queue)).messageCount,
        (n) => n === 150,
      )
    } finally {
      await publisher.close?.()
    }
  })

  test('an aborted call fails its messages without publishing them', async () => {
    const publisher = rabbitmqPublisher({ url, exchange })
    try {
      const topic = `${exchange}.aborted`
      const queue = await boundQueue(topic)
      const controller = new AbortController()
      controller.abort(new Error('publish timeout'))
      const results = await publisher.publish([message({ topic })], { signal: controller.signal })
      expect((results[0] as { error: RabbitmqPublishError }).error.reason).toBe('aborted')
      expect((await channel.checkQueue(queue)).messageCount).toBe(0)
    } finally {
      await publisher.close?.()
    }
  })

  test('with url, the publisher owns its connection: close() closes it, and twice is fine', async () => {
    const name = uniqueName('rmq_pub_owned')
    const publisher = rabbitmqPublisher({ url, exchange, connectionName: name })
    await boundQueue(`${exchange}.owned`)
    await publisher.publish([message({ topic: `${exchange}.owned` })], { signal: signal() })
    expect(await connectionPids(name)).toHaveLength(1)
    await publisher.close?.()
    await publisher.close?.()
    expect(await connectionPids(name)).toHaveLength(0)
    const after = await publisher.publish([message()], { signal: signal() })
    expect((after[0] as { error: RabbitmqPublishError }).error.reason).toBe('closed')
  })

  test('with connection, close() closes only its channel: the connection stays usable', async () => {
    const { connection } = await openAdmin(uniqueName('rmq_pub_user'))
    try {
      const publisher = rabbitmqPublisher({ connection, exchange })
      const topic = `${exchange}.user`
      const queue = await boundQueue(topic)
      expect(await publisher.publish([message({ topic })], { signal: signal() })).toEqual([{ ok: true }])
      await publisher.close?.()
      const other = rabbitmqPublisher({ connection, exchange })
      expect(await other.publish([message({ topic })], { signal: signal() })).toEqual([{ ok: true }])
      await other.close?.()
      expect((await channel.checkQueue(queue)).messageCount).toBe(2)
    } finally {
      await connection.close()
    }
  })

  test('bad options fail at the call with an InvalidOptionError that names the option', () => {
    const cases: [unknown, string][] = [
      [{ exchange }, 'url'],
      [{ url, connection: {}, exchange }, 'url'],
      [{ url: 'http://localhost', exchange }, 'url'],
      [{ connection: {}, exchange }, 'connection'],
      [{ url }, 'exchange'],
      [{ url, exchange, routingKey: 42 }, 'routingKey'],
      [{ url, exchange, assertExchange: 'yes' }, 'assertExchange'],
      [{ url, exchange, exchang: 'typo' }, 'exchang'],
    ]
    for (const [options, option] of cases) {
      let error: unknown
      try {
        rabbitmqPublisher(options as never)
      } catch (e) {
        error = e
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(option)
    }
  })
})
