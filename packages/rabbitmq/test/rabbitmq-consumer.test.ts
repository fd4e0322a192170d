import { InvalidOptionError, type OutboxMessage } from '@txbox/core'
import { consumeRabbitmq, RabbitmqConsumerError, type RabbitmqMessage, rabbitmqPublisher, UndecodableMessageError } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, waitFor } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.js'
import { type Admin, type AdminChannel, closeConnectionsNamed, connectionPids, openAdmin } from './broker.js'

const url = serviceUrls().amqpUrl
const exchange = uniqueName('rmq_cons')
const deadExchange = `${exchange}.dlx`
let admin: Admin
let channel: AdminChannel
let publisher: ReturnType<typeof rabbitmqPublisher>
const queues: string[] = []
const exchanges: string[] = []
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

/** The consumers of `queue`, or undefined while it does not exist (probed on a channel of its own: a 404 closes the channel). */
async function consumersOf(queue: string): Promise<number | undefined> {
  const probe = await admin.createChannel()
  probe.on('error', () => {})
  try {
    return (await probe.checkQueue(queue)).consumerCount
  } catch {
    return undefined
  } finally {
    await probe.close().catch(() => {})
  }
}

const proxies: TcpProxy[] = []

/**
 * The broker's URL through a TCP proxy of the test's own, whose `drop()` cuts
 * the consumer's connection at once, as a network failure would. (Having the
 * broker close it with rabbitmqctl takes seconds under load: a handler waiting
 * on it outlived the tests' waits.)
 */
async function droppableLink(): Promise<{ url: string; drop(): void }> {
  const target = new URL(url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) })
  proxies.push(proxy)
  target.hostname = '127.0.0.1'
  target.port = String(proxy.port)
  return { url: target.toString(), drop: () => proxy.dropAll() }
}

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
  for (const proxy of proxies) await proxy.close()
  await publisher?.close?.()
  for (const q of queues) await channel.deleteQueue(q)
  for (const x of exchanges) await channel.deleteExchange(x)
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
        onError: () => {},
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

  for (const type of ['classic', 'quorum'] as const) {
    for (const dropAt of [2, 3]) {
      test(`exactly maxDeliveries handler runs when the connection drops during attempt ${dropAt} of 3 (${type} queue)`, async () => {
        const topic = `${exchange}.drop.${type}.${dropAt}`
        const { queue, dead } = await workQueue(topic, type)
        const connectionName = uniqueName('rmq_cons_drop')
        const runs: number[] = []
        const errors: unknown[] = []
        const link = await droppableLink()
        const consumer = await consumeRabbitmq({
          url: link.url,
          connectionName,
          queue,
          maxDeliveries: 3,
          reconnectDelay: 20,
          onError: (e) => errors.push(e),
          handler: async (m) => {
            runs.push(m.deliveries)
            if (runs.length === dropAt) {
              // The connection drops while this attempt runs: its nack or reject is lost with it.
              const before = errors.length
              link.drop()
              await waitFor(() => errors.length > before, { message: 'the consumer saw its connection go' })
            }
            throw new Error('poison')
          },
        })
        try {
          await publish(topic)
          await waitFor(async () => (await count(dead)) === 1, { timeoutMs: 20_000, message: `dead-lettered (runs so far: ${runs})` })
        } finally {
          await consumer.stop()
        }
        expect(runs).toHaveLength(3)
        expect(runs).toEqual([1, 2, 3])
        expect(await count(queue)).toBe(0)
      })
    }
  }

  for (const type of ['classic', 'quorum'] as const) {
    test(`a message handled on its last attempt whose ack was lost with the connection is not dead-lettered, nor handled again (${type} queue)`, async () => {
      const topic = `${exchange}.lostack.${type}`
      const { queue, dead } = await workQueue(topic, type)
      const connectionName = uniqueName('rmq_cons_lostack')
      const errors: unknown[] = []
      const handled: string[] = []
      const link = await droppableLink()
      const consumer = await consumeRabbitmq({
        url: link.url,
        connectionName,
        queue,
        prefetch: 1,
        maxDeliveries: 1,
        reconnectDelay: 20,
        onError: (e) => errors.push(e),
        handler: async (m) => {
          handled.push(m.messageId)
          if (handled.length > 1) return
          // The connection goes while the handler runs; the handler succeeds, its ack is lost.
          await closeConnectionsNamed(connectionName)
          await waitFor(() => errors.length > 0)
        },
      })
      try {
        const first = await publish(topic)
        await waitFor(() => errors.some((e) => e instanceof RabbitmqConsumerError && e.reason === 'settle-failed'), { message: 'the lost ack reported' })
        // With prefetch 1, the next message comes once the first one's redelivered copy was settled.
        const next = await publish(topic)
        await waitFor(() => handled.includes(next.messageId), { timeoutMs: 15_000, message: 'the next message handled' })
        expect(handled).toEqual([first.messageId, next.messageId])
      } finally {
        await consumer.stop()
      }
      expect(await count(dead)).toBe(0)
      expect(await count(queue)).toBe(0)
    })
  }

  for (const type of ['classic', 'quorum'] as const) {
    test(`a message redelivered while its last attempt still runs is not dead-lettered, and the attempt's success acks it (${type} queue)`, async () => {
      // Found by the randomized checker's consumer half: the redelivery was
      // rejected at once as exhausted (the running attempt counted as failed),
      // then the handler succeeded: a dead letter of a handled message.
      const topic = `${exchange}.redeliveredwhilerunning.${type}`
      const { queue, dead } = await workQueue(topic, type)
      const connectionName = uniqueName('rmq_cons_running')
      const errors: unknown[] = []
      const handled: string[] = []
      const link = await droppableLink()
      const consumer = await consumeRabbitmq({
        url: link.url,
        connectionName,
        queue,
        prefetch: 1,
        maxDeliveries: 1,
        reconnectDelay: 20,
        onError: (e) => errors.push(e),
        handler: async (m) => {
          handled.push(m.messageId)
          if (handled.length > 1) return
          await closeConnectionsNamed(connectionName)
          // The consumer is back on a new connection and the message was delivered to it while this run goes on.
          await waitFor(async () => (await consumersOf(queue)) === 1 && (await count(queue)) === 0, { timeoutMs: 15_000, message: 'redelivered to the new channel' })
        },
      })
      try {
        const first = await publish(topic)
        await waitFor(() => errors.some((e) => e instanceof RabbitmqConsumerError && e.reason === 'settle-failed'), { timeoutMs: 15_000, message: 'the lost ack reported' })
        const next = await publish(topic)
        await waitFor(() => handled.includes(next.messageId), { timeoutMs: 15_000, message: 'the next message handled' })
        expect(handled).toEqual([first.messageId, next.messageId])
        expect(errors.filter((e) => e instanceof RabbitmqConsumerError && e.reason === 'deliveries-exhausted')).toEqual([])
      } finally {
        await consumer.stop()
      }
      expect(await count(dead)).toBe(0)
      expect(await count(queue)).toBe(0)
    })
  }

  test('a failed ack or reject (its channel closed meanwhile) is reported, not swallowed', async () => {
    const topic = `${exchange}.lostsettle`
    const { queue } = await workQueue(topic, 'quorum')
    const connectionName = uniqueName('rmq_cons_lost')
    const errors: unknown[] = []
    let runs = 0
    const link = await droppableLink()
    const consumer = await consumeRabbitmq({
      url: link.url,
      connectionName,
      queue,
      reconnectDelay: 20,
      onError: (e) => errors.push(e),
      handler: async () => {
        runs++
        if (runs === 1) {
          await closeConnectionsNamed(connectionName)
          await waitFor(() => errors.length > 0)
          throw new Error('failed, and its requeue is lost too')
        }
      },
    })
    try {
      const sent = await publish(topic)
      await waitFor(() => errors.some((e) => e instanceof RabbitmqConsumerError && e.reason === 'settle-failed'), { message: 'the lost requeue reported' })
      const lost = errors.find((e) => e instanceof RabbitmqConsumerError && e.reason === 'settle-failed') as RabbitmqConsumerError
      expect(lost.message).toMatch(new RegExp(`could not requeue \\(nack\\) message ${sent.messageId}.*delivers it again`))
      await waitFor(() => runs === 2, { timeoutMs: 15_000, message: 'redelivered after the lost requeue' })
    } finally {
      await consumer.stop()
    }
  })


  test('without logger or onError, failures go to the console (a lost connection as an error, a failed handler as a warning)', async () => {
    const topic = `${exchange}.console`
    const { queue } = await workQueue(topic, 'quorum')
    const connectionName = uniqueName('rmq_cons_console')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    let runs = 0
    const consumer = await consumeRabbitmq({
      url,
      connectionName,
      queue,
      reconnectDelay: 20,
      handler: async () => {
        runs++
        if (runs === 1) throw new Error('first try fails')
      },
    })
    try {
      await publish(topic)
      await waitFor(() => runs === 2)
      expect(warn.mock.calls.flat().map(String).join(' ')).toMatch(/first try fails/)
      await closeConnectionsNamed(connectionName)
      await waitFor(() => error.mock.calls.length > 0, { message: 'the lost connection reported on the console' })
      expect(error.mock.calls.flat().map(String).join(' ')).toMatch(/txbox rabbitmq consumer.*(connection|channel)/s)
    } finally {
      await consumer.stop()
      warn.mockRestore()
      error.mockRestore()
    }
  })

  test('after the broker closes its connection, it consumes again on a new connection (the queue has a consumer again)', async () => {
    const topic = `${exchange}.zombie`
    const { queue } = await workQueue(topic, 'classic')
    const connectionName = uniqueName('rmq_cons_zombie')
    const got: string[] = []
    const errors: unknown[] = []
    const consumer = await consumeRabbitmq({ url, connectionName, queue, reconnectDelay: 20, handler: async (m) => void got.push(m.messageId), onError: (e) => errors.push(e) })
    try {
      const [first] = await closeConnectionsNamed(connectionName)
      await waitFor(async () => (await channel.checkQueue(queue)).consumerCount === 1 && (await connectionPids(connectionName)).some((pid) => pid !== first), {
        timeoutMs: 15_000,
        message: 'a new connection consuming the queue',
      })
      const after = await publish(topic)
      await waitFor(() => got.includes(after.messageId), { timeoutMs: 15_000 })
    } finally {
      await consumer.stop()
    }
  })

  test('with connection: when the broker closes your connection, the consumer says so and stops retrying on it', async () => {
    const topic = `${exchange}.userconn.closed`
    const { queue } = await workQueue(topic, 'classic')
    const name = uniqueName('rmq_cons_userclosed')
    const { connection } = await openAdmin(name)
    connection.on('error', () => {}) // yours to handle, as with any amqplib connection
    const errors: unknown[] = []
    const consumer = await consumeRabbitmq({ connection, queue, reconnectDelay: 20, handler: async () => {}, onError: (e) => errors.push(e) })
    await closeConnectionsNamed(name)
    await waitFor(() => errors.some((e) => /cannot reopen|pass url/i.test(String((e as Error).message))), { message: `reported: ${errors}` })
    const reported = errors.length
    // It gave up: no retry loop on the dead connection.
    await consumer.stop()
    expect(errors.length).toBe(reported)
  })

  test('nested AMQP header values reach the handler as JSON text, numbers and booleans as their text', async () => {
    const topic = `${exchange}.headers`
    const { queue } = await workQueue(topic, 'classic')
    const got: RabbitmqMessage[] = []
    const consumer = await consumeRabbitmq({ url, queue, handler: async (m) => void got.push(m) })
    try {
      channel.publish(exchange, topic, Buffer.from('{}'), {
        messageId: uniqueName('hdr'),
        headers: { plain: 'text', nested: { a: 1, b: ['x', 2] }, list: [1, 'two'], count: 5, flag: true, bytes: Buffer.from('raw') },
      })
      await waitFor(() => got.length === 1)
    } finally {
      await consumer.stop()
    }
    expect(got[0]?.headers).toEqual({ plain: 'text', nested: '{"a":1,"b":["x",2]}', list: '[1,"two"]', count: '5', flag: 'true', bytes: 'raw' })
  })

  describe('declare: the queue, its binding and its dead letters, declared by the consumer', () => {
    test('a worker started before any relay declared the exchange consumes, and its rejected messages land in its dead-letter queue', async () => {
      const events = uniqueName('rmq_cons_events')
      const deadLetters = `${events}.dlx`
      const queue = uniqueName('rmq_cons_declared')
      exchanges.push(events, deadLetters)
      queues.push(queue, `${queue}.dead`)
      const handled: string[] = []
      const consumer = await consumeRabbitmq<{ fail?: boolean }>({
        url,
        queue,
        maxDeliveries: 2,
        declare: { exchange: events, routingKeys: ['email.*'], deadLetterExchange: deadLetters },
        handler: async (m) => {
          handled.push(m.messageId)
          if (m.payload.fail) throw new Error('refused')
        },
        onError: () => {},
      })
      const relayPublisher = rabbitmqPublisher({ url, exchange: events })
      try {
        const ok = { id: '1', messageId: uniqueName('ok'), topic: 'email.welcome', key: null, payload: '{}', headers: {}, attempts: 0, createdAt: new Date() }
        const bad = { ...ok, id: '2', messageId: uniqueName('bad'), payload: '{"fail":true}' }
        const results = await relayPublisher.publish([ok, bad], { signal: new AbortController().signal })
        expect(results.map((r) => r.ok)).toEqual([true, true])
        await waitFor(async () => (await count(`${queue}.dead`)) === 1, { message: 'the rejected message in the dead-letter queue' })
        const deadLettered = await channel.get(`${queue}.dead`, { noAck: true })
        expect(deadLettered === false ? undefined : deadLettered.properties.messageId).toBe(bad.messageId)
        expect(handled.filter((id) => id === ok.messageId)).toHaveLength(1)
        expect((await channel.checkQueue(queue)).messageCount).toBe(0)
      } finally {
        await relayPublisher.close?.()
        await consumer.stop()
      }
    })

    test('a queue deleted under a declaring consumer is declared again when it re-opens its channel', async () => {
      const events = uniqueName('rmq_cons_events')
      const queue = uniqueName('rmq_cons_redeclared')
      exchanges.push(events)
      queues.push(queue)
      const got: string[] = []
      const consumer = await consumeRabbitmq({ url, queue, reconnectDelay: 20, declare: { exchange: events }, handler: async (m) => void got.push(m.messageId), onError: () => {} })
      try {
        await channel.deleteQueue(queue)
        await waitFor(async () => (await consumersOf(queue)) === 1, { timeoutMs: 15_000, message: 'the queue declared again and consumed' })
      } finally {
        await consumer.stop()
      }
    })
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
      [{ url, queue: 'q', handler, declare: 'events' }, 'declare'],
      [{ url, queue: 'q', handler, declare: { exchange: '' } }, 'declare.exchange'],
      [{ url, queue: 'q', handler, declare: { exchange: 'x', routingKeys: [] } }, 'declare.routingKeys'],
      [{ url, queue: 'q', handler, declare: { exchange: 'x', queueType: 'stream' } }, 'declare.queueType'],
      [{ url, queue: 'q', handler, declare: { exchange: 'x', deadLetterExchange: 'x' } }, 'declare.deadLetterExchange'],
      [{ url, queue: 'q', handler, declare: { exchange: 'x', durable: false } }, 'declare.durable'],
    ]
    for (const [options, option] of cases) {
      const error = await consumeRabbitmq(options as never).catch((e: unknown) => e)
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(option)
    }
  })
})
