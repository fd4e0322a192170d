import { InvalidOptionError, type OutboxMessage } from '@txbox/core'
import { consumeRabbitmq, type RabbitmqMessage, rabbitmqPublisher, UndecodableMessageError } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, waitFor } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Admin, type AdminChannel, closeConnectionsNamed, openAdmin } from './broker.js'

const url = serviceUrls().amqpUrl
const exchange = uniqueName('rmq_cons')
const deadExchange = `${exchange}.dlx`
let admin: Admin
let channel: AdminChannel
let publisher: ReturnType<typeof rabbitmqPublisher>
const queues: string[] = []
let seq = 0

/** A work queue bound to the exchange for `topic`, dead-lettering to its own dead-letter queue. */
async function workQueue(topic: string, type: 'quorum' | 'classic'): Promise<{ queue: string; dead: string }> {
  const queue = uniqueName(`rmq_cons_${type}`)
  const dead = `${queue}.dead`
  await channel.assertQueue(dead, { durable: true })
  await channel.bindQueue(dead, deadExchange, queue)
  await channel.assertQueue(queue, {
    durable: true,
    arguments: { 'x-queue-type': type, 'x-dead-letter-exchange': deadExchange, 'x-dead-letter-routing-key': queue },
  })
  await channel.bindQueue(queue, exchange, topic)
  queues.push(queue, dead)
  return { queue, dead }
}

async function publish(topic: string, overrides: Partial<OutboxMessage> = {}): Promise<OutboxMessage> {
  seq++
  const m: OutboxMessage = {
    id: String(seq),
    messageId: `${exchange}-m${seq}`,
    topic,
    key: `order:${seq}`,
    payload: JSON.stringify({ seq }),
    headers: { 'x-tenant': 'acme' },
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  }
  const [result] = await publisher.publish([m], { signal: new AbortController().signal })
  if (!result?.ok) throw new Error(`publish failed: ${result && !result.ok ? result.error.message : ''}`)
  return m
}

const count = async (queue: string) => (await channel.checkQueue(queue)).messageCount

/** A gate a handler can wait on. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

beforeAll(async () => {
  ;({ connection: admin, channel } = await openAdmin(`${exchange}-admin`))
  await channel.assertExchange(exchange, 'topic', { durable: true })
  await channel.assertExchange(deadExchange, 'direct', { durable: true })
  publisher = rabbitmqPublisher({ url, exchange })
})

afterAll(async () => {
  await publisher?.close?.()
  for (const q of queues) await channel.deleteQueue(q)
  await channel.deleteExchange(exchange)
  await channel.deleteExchange(deadExchange)
  await admin.close()
})

describe('consumeRabbitmq', () => {
  test('hands the handler the decoded message and acks it once the handler succeeded', async () => {
    const topic = `${exchange}.ok`
    const { queue } = await workQueue(topic, 'quorum')
    const got: RabbitmqMessage<{ seq: number }>[] = []
    const consumer = await consumeRabbitmq<{ seq: number }>({ url, queue, handler: async (m) => void got.push(m) })
    try {
      const sent = await publish(topic, { headers: { 'x-tenant': 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })
      await waitFor(() => got.length === 1)
      expect(got[0]).toEqual({
        messageId: sent.messageId,
        topic,
        key: sent.key,
        payload: JSON.parse(sent.payload),
        headers: sent.headers,
        deliveries: 1,
        redelivered: false,
      })
    } finally {
      await consumer.stop()
    }
    // Acked: nothing is left in the queue, not even unacked (the channel is closed now).
    expect(await count(queue)).toBe(0)
  })

  test('a message whose handler failed once is redelivered, then acked', async () => {
    const topic = `${exchange}.retry`
    const { queue, dead } = await workQueue(topic, 'quorum')
    const seen: { deliveries: number; redelivered: boolean }[] = []
    const errors: unknown[] = []
    const consumer = await consumeRabbitmq({
      url,
      queue,
      handler: async (m) => {
        seen.push({ deliveries: m.deliveries, redelivered: m.redelivered })
        if (m.deliveries === 1) throw new Error('transient')
      },
      onError: (error) => errors.push(error),
    })
    try {
      await publish(topic)
      await waitFor(() => seen.length === 2)
    } finally {
      await consumer.stop()
    }
    expect(seen).toEqual([
      { deliveries: 1, redelivered: false },
      { deliveries: 2, redelivered: true },
    ])
    expect(errors.map((e) => (e as Error).message)).toEqual(['transient'])
    expect(await count(queue)).toBe(0)
    expect(await count(dead)).toBe(0)
  })

  for (const type of ['quorum', 'classic'] as const) {
    test(`a message that keeps failing is requeued, then rejected to the dead-letter exchange on its maxDeliveries-th delivery (${type} queue)`, async () => {
      const topic = `${exchange}.poison.${type}`
      const { queue, dead } = await workQueue(topic, type)
      const deliveries: number[] = []
      const consumer = await consumeRabbitmq({
        url,
        queue,
        maxDeliveries: 3,
        handler: async (m) => {
          deliveries.push(m.deliveries)
          throw new Error('poison')
        },
      })
      let sent: OutboxMessage
      try {
        sent = await publish(topic)
        await waitFor(async () => (await count(dead)) === 1)
      } finally {
        await consumer.stop()
      }
      expect(deliveries).toEqual([1, 2, 3])
      expect(await count(queue)).toBe(0)
      const deadLettered = await channel.get(dead, { noAck: true })
      expect(deadLettered === false ? undefined : deadLettered.properties.messageId).toBe(sent.messageId)
    })
  }

  test("on a quorum queue, deliveries counts the broker's x-delivery-count, including other consumers' failed attempts", async () => {
    const topic = `${exchange}.count`
    const { queue } = await workQueue(topic, 'quorum')
    await publish(topic)
    // Another consumer fails it twice.
    for (let i = 0; i < 2; i++) {
      const m = await channel.get(queue, { noAck: false })
      if (!m) throw new Error('expected a message')
      channel.nack(m, false, true)
    }
    const seen: number[] = []
    const consumer = await consumeRabbitmq({ url, queue, handler: async (m) => void seen.push(m.deliveries) })
    try {
      await waitFor(() => seen.length === 1)
    } finally {
      await consumer.stop()
    }
    expect(seen).toEqual([3])
  })

  test('an undecodable delivery is rejected to the dead letters at once, without calling the handler', async () => {
    const topic = `${exchange}.garbage`
    const { queue, dead } = await workQueue(topic, 'quorum')
    const errors: unknown[] = []
    let handled = 0
    const consumer = await consumeRabbitmq({ url, queue, handler: async () => void handled++, onError: (e) => errors.push(e) })
    try {
      channel.publish(exchange, topic, Buffer.from('not json'), { messageId: 'garbage-1' })
      channel.publish(exchange, topic, Buffer.from('{}'))
      await waitFor(async () => (await count(dead)) === 2)
    } finally {
      await consumer.stop()
    }
    expect(handled).toBe(0)
    expect(errors).toHaveLength(2)
    for (const e of errors) {
      expect(e).toBeInstanceOf(UndecodableMessageError)
      expect((e as UndecodableMessageError).code).toBe('RABBITMQ_UNDECODABLE_MESSAGE')
    }
  })

  test('wrap runs each handler inside it, the place for processOnce: a message it skips as a duplicate is still acked', async () => {
    const topic = `${exchange}.inbox`
    const { queue } = await workQueue(topic, 'quorum')
    const inbox = new Set<string>()
    const handled: string[] = []
    const consumer = await consumeRabbitmq({
      url,
      queue,
      prefetch: 1,
      handler: async (m) => void handled.push(m.messageId),
      // A stand-in for (m, run) => processOnce(db, m.messageId, run).
      wrap: async (m, run) => {
        if (inbox.has(m.messageId)) return
        await run()
        inbox.add(m.messageId)
      },
    })
    try {
      const first = await publish(topic)
      await publish(topic, { messageId: first.messageId })
      const other = await publish(topic)
      await waitFor(() => handled.length === 2)
      await waitFor(async () => (await count(queue)) === 0)
      expect(handled).toEqual([first.messageId, other.messageId])
    } finally {
      await consumer.stop()
    }
    expect(await count(queue)).toBe(0)
  })

  test('stop() lets the handler in flight finish and ack, starts nothing new, and is idempotent', async () => {
    const topic = `${exchange}.stop`
    // Classic: its consumer count drops at basic.cancel (a quorum queue keeps counting a cancelled consumer with unacked messages).
    const { queue } = await workQueue(topic, 'classic')
    const release = gate()
    const started: string[] = []
    const finished: string[] = []
    const consumer = await consumeRabbitmq({
      url,
      queue,
      prefetch: 1,
      handler: async (m) => {
        started.push(m.messageId)
        await release.opened
        finished.push(m.messageId)
      },
    })
    try {
      const inFlight = await publish(topic)
      await waitFor(() => started.length === 1)
      let stopped = false
      const stopping = consumer.stop().then(() => {
        stopped = true
      })
      // Cancelled: the queue has no consumer any more, while the handler still runs.
      await waitFor(async () => (await channel.checkQueue(queue)).consumerCount === 0)
      const later = await publish(topic)
      expect(stopped).toBe(false)
      expect(finished).toEqual([])
      release.open()
      await stopping
      await consumer.stop()
      expect(started).toEqual([inFlight.messageId])
      expect(finished).toEqual([inFlight.messageId])
      // The in-flight message was acked; the later one waits in the queue.
      expect(await count(queue)).toBe(1)
      const left = await channel.get(queue, { noAck: true })
      expect(left === false ? undefined : left.properties.messageId).toBe(later.messageId)
    } finally {
      release.open()
      await consumer.stop()
    }
  })

  test('after the broker closes its connection, the consumer reconnects and goes on consuming', async () => {
    const topic = `${exchange}.reconnect`
    const { queue } = await workQueue(topic, 'quorum')
    const connectionName = uniqueName('rmq_cons_conn')
    const got: string[] = []
    const errors: unknown[] = []
    const consumer = await consumeRabbitmq({ url, connectionName, queue, reconnectDelay: 20, handler: async (m) => void got.push(m.messageId), onError: (e) => errors.push(e) })
    try {
      const before = await publish(topic)
      await waitFor(() => got.length === 1)
      await closeConnectionsNamed(connectionName)
      await waitFor(() => errors.length > 0)
      const after = await publish(topic)
      await waitFor(() => got.includes(after.messageId), { timeoutMs: 15_000 })
      expect(got[0]).toBe(before.messageId)
    } finally {
      await consumer.stop()
    }
  })

  test('with connection, stop() closes only its channel', async () => {
    const topic = `${exchange}.userconn`
    const { queue } = await workQueue(topic, 'classic')
    const { connection } = await openAdmin(uniqueName('rmq_cons_user'))
    try {
      const got: string[] = []
      const consumer = await consumeRabbitmq({ connection, queue, handler: async (m) => void got.push(m.messageId) })
      await publish(topic)
      await waitFor(() => got.length === 1)
      await consumer.stop()
      // Still open: a new channel works.
      const ch = await connection.createChannel()
      expect((await ch.checkQueue(queue)).messageCount).toBe(0)
      await ch.close()
    } finally {
      await connection.close()
    }
  })

  test('consuming a queue that does not exist rejects, leaving nothing open', async () => {
    await expect(consumeRabbitmq({ url, queue: uniqueName('rmq_cons_missing'), handler: async () => {} })).rejects.toThrow(/NOT_FOUND|404/)
  })

  test('bad options fail at the call with an InvalidOptionError that names the option', async () => {
    const handler = async () => {}
    const cases: [unknown, string][] = [
      [{ queue: 'q', handler }, 'url'],
      [{ url, handler }, 'queue'],
      [{ url, queue: 'q' }, 'handler'],
      [{ url, queue: 'q', handler, prefetch: 0 }, 'prefetch'],
      [{ url, queue: 'q', handler, maxDeliveries: 1.5 }, 'maxDeliveries'],
      [{ url, queue: 'q', handler, wrap: 'processOnce' }, 'wrap'],
      [{ url, queue: 'q', handler, prefech: 5 }, 'prefech'],
    ]
    for (const [options, option] of cases) {
      const error = await consumeRabbitmq(options as never).catch((e: unknown) => e)
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(option)
    }
  })
})
