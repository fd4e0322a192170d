// What AMQP cannot carry, and confirms that must land on the right message.
//
// amqplib's ConfirmChannel.publish queues the confirm callback, then encodes
// the message: a routing key, messageId or header name over 255 bytes throws
// there, leaving a callback for a message the broker never saw. Every later
// confirm on that channel is then credited to the message before it. And a
// message whose headers do not fit in one frame gets the connection closed.
// These tests publish next to such messages on the real broker and check each
// result against what the queues hold.
import type { OutboxMessage, PublishResult } from '@txbox/core'
import { type AmqpConnection, RabbitmqPublishError, rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, waitFor, waitForValue } from '@txbox/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { type Admin, type AdminChannel, connectionPids, openAdmin } from './broker.js'

const url = serviceUrls().amqpUrl
const exchange = uniqueName('rmq_lim')
let admin: Admin
let channel: AdminChannel
const queues: string[] = []
let seq = 0

/** Routing keys: `ok.*` reaches a plain queue, `full.*` a queue that refuses everything (so RabbitMQ nacks it). */
const okTopic = `${exchange}.ok`
const fullTopic = `${exchange}.full`
let okQueue: string

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  seq++
  return {
    id: String(seq),
    messageId: `${exchange}-m${seq}`,
    topic: okTopic,
    key: null,
    payload: JSON.stringify({ n: seq }),
    headers: {},
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  }
}

/** Takes every message off `queue` and returns their messageIds. */
async function drain(queue: string): Promise<string[]> {
  const ids: string[] = []
  for (;;) {
    const got = await channel.get(queue, { noAck: true })
    if (got === false) return ids
    ids.push(got.properties.messageId)
  }
}

type Expected = 'ok' | 'nacked' | 'refused' | 'retry'

/** What each result says, in the words of the test: published, nacked, refused for good, or failed for a retry. */
function outcome(result: PublishResult | undefined): Expected | string {
  if (result === undefined) return 'missing'
  if (result.ok) return 'ok'
  const reason = result.error instanceof RabbitmqPublishError ? result.error.reason : result.error.message
  if (result.permanent === true) return reason === 'unpublishable' ? 'refused' : `permanent ${reason}`
  return reason === 'nacked' ? 'nacked' : 'retry'
}

/** The error a failed result carries. */
function errorOf(result: PublishResult | undefined): RabbitmqPublishError {
  if (result === undefined || result.ok) throw new Error(`expected a failed result, got ${JSON.stringify(result)}`)
  return result.error as RabbitmqPublishError
}

// The old code left confirm callbacks waiting forever: bound every call so a failure shows as a wrong result, not a hung test.
const signal = () => AbortSignal.timeout(10_000)

beforeAll(async () => {
  ;({ connection: admin, channel } = await openAdmin(`${exchange}-admin`))
  await channel.assertExchange(exchange, 'topic', { durable: true })
  okQueue = (await channel.assertQueue(uniqueName('rmq_lim_ok'), { durable: false })).queue
  queues.push(okQueue)
  await channel.bindQueue(okQueue, exchange, okTopic)
  const full = (await channel.assertQueue(uniqueName('rmq_lim_full'), { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } }))
    .queue
  queues.push(full)
  await channel.bindQueue(full, exchange, fullTopic)
})

// Each test reads okQueue exactly: start it empty, whatever the test before it left.
beforeEach(async () => {
  await drain(okQueue)
})

afterAll(async () => {
  for (const q of queues) await channel.deleteQueue(q)
  await channel.deleteExchange(exchange)
  await admin.close()
})

describe('rabbitmqPublisher: what AMQP cannot carry', () => {
  test('a short string over 255 UTF-8 bytes (routing key, messageId, header name) is refused for good before it is sent, and two calls in flight each get exactly their own confirms', async () => {
    const publisher = rabbitmqPublisher({ url, exchange })
    try {
      // One call first, so both calls below share one open channel.
      expect(await publisher.publish([message()], { signal: signal() })).toEqual([{ ok: true }])
      expect(await drain(okQueue)).toHaveLength(1)

      const longTopic = `${exchange}.${'é'.repeat(200)}` // 200 characters, 400 bytes
      const longId = 'é'.repeat(128) // 256 bytes
      const longHeader = 'h'.repeat(256)
      const a = [
        [message(), 'ok'],
        [message({ topic: longTopic }), 'refused'],
        [message({ topic: fullTopic }), 'nacked'],
        [message(), 'ok'],
        [message({ messageId: longId }), 'refused'],
        [message(), 'ok'],
      ] as const
      const b = [
        [message({ topic: fullTopic }), 'nacked'],
        [message(), 'ok'],
        [message({ headers: { [longHeader]: 'v' } }), 'refused'],
        [message(), 'ok'],
        [message({ topic: fullTopic }), 'nacked'],
        [message(), 'ok'],
      ] as const
      const [resultsA, resultsB] = await Promise.all([
        publisher.publish(
          a.map(([m]) => m),
          { signal: signal() },
        ),
        publisher.publish(
          b.map(([m]) => m),
          { signal: signal() },
        ),
      ])
      expect(resultsA.map(outcome)).toEqual(a.map(([, expected]) => expected))
      expect(resultsB.map(outcome)).toEqual(b.map(([, expected]) => expected))
      expect(errorOf(resultsA[1]).message).toMatch(/routing key .* is \d+ bytes of UTF-8; AMQP carries at most 255/)

      // A later call on the same publisher: its confirms still land on its own messages.
      const c = [
        [message(), 'ok'],
        [message({ topic: fullTopic }), 'nacked'],
        [message(), 'ok'],
        [message(), 'ok'],
      ] as const
      const resultsC = await publisher.publish(
        c.map(([m]) => m),
        { signal: signal() },
      )
      expect(resultsC.map(outcome)).toEqual(c.map(([, expected]) => expected))

      // The queue holds exactly what was reported published: nothing reported ok that the broker did not take.
      const published = [...a, ...b, ...c].filter(([, expected]) => expected === 'ok').map(([m]) => m.messageId)
      expect((await drain(okQueue)).sort()).toEqual(published.sort())
    } finally {
      await publisher.close?.()
    }
  })

  test('short strings of exactly 255 bytes, multi-byte characters and an empty header name are published as they are; 256 bytes are refused', async () => {
    const publisher = rabbitmqPublisher({ url, exchange, routingKey: (m) => m.headers.route ?? m.topic })
    const prefix = `${exchange}.`
    const route255 = prefix + 'é'.repeat((255 - prefix.length) >> 1) + 'x'.repeat((255 - prefix.length) & 1)
    const route256 = `${route255}x`
    const exact = (await channel.assertQueue(uniqueName('rmq_lim_255'), { durable: false })).queue
    queues.push(exact)
    await channel.bindQueue(exact, exchange, route255)
    try {
      expect(Buffer.byteLength(route255)).toBe(255)
      const id255 = `${'€'.repeat(84)}abc` // 84 × 3 + 3 bytes
      expect(Buffer.byteLength(id255)).toBe(255)
      const name255 = `${'ü'.repeat(127)}n`
      expect(Buffer.byteLength(name255)).toBe(255)
      const good = message({ topic: route255, messageId: id255, headers: { [name255]: 'ß', '': 'empty name', 'x-emoji': '🦀' } })
      const batch = [
        good,
        message({ headers: { route: route256 } }),
        message({ messageId: `${id255}x` }),
        message({ headers: { [`${name255}x`]: 'v' } }),
      ]
      const results = await publisher.publish(batch, { signal: signal() })
      expect(results.map(outcome)).toEqual(['ok', 'refused', 'refused', 'refused'])
      const got = await waitForValue(
        () => channel.get(exact, { noAck: true }),
        (m) => m !== false,
      )
      if (got === false) throw new Error('unreachable')
      expect(got.fields.routingKey).toBe(route255)
      expect(got.properties.messageId).toBe(id255)
      expect(got.properties.headers).toEqual({ [name255]: 'ß', '': 'empty name', 'x-emoji': '🦀', 'txbox-topic': route255 })
      expect(await drain(okQueue)).toEqual([])
    } finally {
      await publisher.close?.()
    }
  })

  test('a routingKey function that returns something other than a string fails that message for a retry, before amqplib sees it; its neighbours are published', async () => {
    const publisher = rabbitmqPublisher({ url, exchange, routingKey: (m) => (m.headers.odd === 'yes' ? (42 as unknown as string) : m.topic) })
    try {
      const batch = [message(), message({ headers: { odd: 'yes' } }), message()]
      const results = await publisher.publish(batch, { signal: signal() })
      expect(results.map(outcome)).toEqual(['ok', 'retry', 'ok'])
      expect(errorOf(results[1]).message).toContain('returned number')
      expect((await drain(okQueue)).sort()).toEqual([batch[0]?.messageId, batch[2]?.messageId].sort())
    } finally {
      await publisher.close?.()
    }
  })

  test('headers that are not strings (rows written by other tools) are refused for good, and headers stored as null mean none', async () => {
    const publisher = rabbitmqPublisher({ url, exchange })
    try {
      const odd = (headers: unknown) => message({ headers: headers as Record<string, string> })
      const batch = [odd({ nested: { a: 1 } }), odd({ n: 1 }), odd({ flag: true }), odd({ nothing: null }), odd(['a']), odd('text'), odd(null), message()]
      const results = await publisher.publish(batch, { signal: signal() })
      expect(results.map(outcome)).toEqual(['refused', 'refused', 'refused', 'refused', 'refused', 'refused', 'ok', 'ok'])
      expect(errorOf(results[0]).message).toMatch(/header "nested".*string/)
      expect((await drain(okQueue)).sort()).toEqual([batch[6]?.messageId, batch[7]?.messageId].sort())
    } finally {
      await publisher.close?.()
    }
  })

  test('headers too large for one frame are refused for good before they are sent: the connection stays open and the neighbours are published on the first try', async () => {
    const connectionName = uniqueName('rmq_lim_frame')
    const publisher = rabbitmqPublisher({ url, exchange, connectionName })
    try {
      expect(await publisher.publish([message()], { signal: signal() })).toEqual([{ ok: true }])
      expect(await drain(okQueue)).toHaveLength(1)
      const [pid] = await connectionPids(connectionName)
      const batch = [message(), message({ headers: { big: 'x'.repeat(200_000) } }), message(), message({ headers: { a: 'x'.repeat(40_000), b: 'y'.repeat(40_000) } }), message()]
      const results = await publisher.publish(batch, { signal: signal() })
      expect(results.map(outcome)).toEqual(['ok', 'refused', 'ok', 'refused', 'ok'])
      expect(errorOf(results[1]).message).toMatch(/headers/)
      expect(await connectionPids(connectionName)).toEqual([pid])
      expect((await drain(okQueue)).sort()).toEqual([0, 2, 4].map((i) => batch[i]?.messageId).sort())
    } finally {
      await publisher.close?.()
    }
  })

  test("the frame limit is the connection's negotiated frame_max: with frameMax=8192, a header frame of exactly 8192 bytes goes out and one byte more is refused", async () => {
    const connectionName = uniqueName('rmq_lim_frame8k')
    const small = new URL(url)
    small.searchParams.set('frameMax', '8192')
    const publisher = rabbitmqPublisher({ url: small.toString(), exchange, connectionName })
    try {
      // The content header frame: 22 bytes of framing and fixed fields, then the properties:
      // contentType (1 + 16), headers (4 + per header 1 + name + 1 + 4 + value), deliveryMode (1), messageId (1 + n), timestamp (8).
      const frame = (m: OutboxMessage, value: number) =>
        22 + 17 + 4 + (1 + 1 + 1 + 4 + value) + (1 + 11 + 1 + 4 + Buffer.byteLength(m.topic)) + 1 + 1 + Buffer.byteLength(m.messageId) + 8
      const withHeader = (m: OutboxMessage, extra: number) => ({ ...m, headers: { h: 'x'.repeat(8192 - frame(m, 0) + extra) } })
      const atLimit = withHeader(message(), 0)
      const over = withHeader(message(), 1)
      expect(frame(atLimit, (atLimit.headers.h as string).length)).toBe(8192)
      const results = await publisher.publish([atLimit, over, message()], { signal: signal() })
      expect(results.map(outcome)).toEqual(['ok', 'refused', 'ok'])
      expect(errorOf(results[1]).message).toContain('8192')
      expect(await connectionPids(connectionName)).toHaveLength(1)
      expect(await drain(okQueue)).toHaveLength(2)
    } finally {
      await publisher.close?.()
    }
  })
})

describe('rabbitmqPublisher: a publish that throws', () => {
  test('discards its channel: what was in flight on it fails for a retry, nothing is reported published that the broker did not take, and later confirms land on their own messages', async () => {
    const { connection } = await openAdmin(uniqueName('rmq_lim_throw'))
    const poisonId = `${exchange}-poison`
    let channelsOpened = 0
    // Fault injection on the real client: for one message, amqplib is handed
    // a messageId it cannot encode, so its publish queues the confirm
    // callback and then throws, as it does for any input it cannot encode.
    const realCreate = connection.createConfirmChannel.bind(connection)
    connection.createConfirmChannel = async (...args: Parameters<typeof realCreate>) => {
      const ch = await realCreate(...args)
      channelsOpened++
      const realPublish = ch.publish.bind(ch)
      ch.publish = (ex, rk, content, options, callback) =>
        realPublish(ex, rk, content, options?.messageId === poisonId ? { ...options, messageId: 'x'.repeat(300) } : options, callback)
      return ch
    }
    const publisher = rabbitmqPublisher({ connection: connection as unknown as AmqpConnection, exchange })
    try {
      expect(await publisher.publish([message()], { signal: signal() })).toEqual([{ ok: true }])
      expect(await drain(okQueue)).toHaveLength(1)

      const a = [message(), message({ topic: fullTopic }), message()]
      const b = [message(), message({ messageId: poisonId }), message()]
      const [resultsA, resultsB] = await Promise.all([publisher.publish(a, { signal: signal() }), publisher.publish(b, { signal: signal() })])
      const poisoned = resultsB[1]
      expect(outcome(poisoned)).toBe('retry')
      expect(errorOf(poisoned).reason).toBe('channel-closed')
      expect(errorOf(poisoned).message).toContain(poisonId)
      // The message after it was never sent: it fails for a retry too.
      expect(outcome(resultsB[2])).toBe('retry')
      // The nacked message is never reported published; whatever is reported published is in the queue.
      expect(outcome(resultsA[1])).not.toBe('ok')
      for (const r of [...resultsA, ...resultsB]) {
        expect(['ok', 'retry', 'nacked']).toContain(outcome(r))
        if (!r.ok) expect(r.error.message).not.toContain('undefined')
      }
      const reportedOk = [...a, ...b].filter((_, i) => [...resultsA, ...resultsB][i]?.ok).map((m) => m.messageId)

      const c = [
        [message(), 'ok'],
        [message({ topic: fullTopic }), 'nacked'],
        [message(), 'ok'],
        [message(), 'ok'],
      ] as const
      const resultsC = await publisher.publish(
        c.map(([m]) => m),
        { signal: signal() },
      )
      expect(resultsC.map(outcome)).toEqual(c.map(([, expected]) => expected))
      expect(channelsOpened).toBe(2)

      const inQueue = await drain(okQueue)
      for (const id of reportedOk) expect(inQueue).toContain(id)
      for (const [m] of c.filter(([, expected]) => expected === 'ok')) expect(inQueue).toContain(m.messageId)
      expect(inQueue).not.toContain(poisonId)
    } finally {
      await publisher.close?.()
      await connection.close()
    }
  })

  test('a call waiting for the socket to drain stops when another call discards the channel, and fails what it had not sent for a retry', async () => {
    const { connection } = await openAdmin(uniqueName('rmq_lim_drain'))
    const poisonId = `${exchange}-poison-drain`
    const realCreate = connection.createConfirmChannel.bind(connection)
    connection.createConfirmChannel = async (...args: Parameters<typeof realCreate>) => {
      const ch = await realCreate(...args)
      const realPublish = ch.publish.bind(ch)
      ch.publish = (ex, rk, content, options, callback) =>
        realPublish(ex, rk, content, options?.messageId === poisonId ? { ...options, messageId: 'x'.repeat(300) } : options, callback)
      return ch
    }
    const publisher = rabbitmqPublisher({ connection: connection as unknown as AmqpConnection, exchange })
    try {
      expect(await publisher.publish([message()], { signal: signal() })).toEqual([{ ok: true }])
      // 100 KB messages fill the socket buffer at once: this call waits for 'drain' between them.
      const payload = JSON.stringify({ blob: 'x'.repeat(100_000) })
      const big = Array.from({ length: 50 }, () => message({ payload }))
      const [bigResults, poisonResults] = await Promise.all([
        publisher.publish(big, { signal: signal() }),
        publisher.publish([message({ messageId: poisonId })], { signal: signal() }),
      ])
      expect(outcome(poisonResults[0])).toBe('retry')
      for (const r of bigResults) expect(['ok', 'retry']).toContain(outcome(r))
      // It was cut short: its last messages were never sent, and fail with the reason.
      expect(errorOf(bigResults[big.length - 1]).message).toContain(poisonId)
      const inQueue = await drain(okQueue)
      big.forEach((m, i) => {
        if (bigResults[i]?.ok) expect(inQueue).toContain(m.messageId)
      })
      const after = message()
      expect(await publisher.publish([after], { signal: signal() })).toEqual([{ ok: true }])
      // The broker may still be routing what the discarded channel had sent: wait for this one among them.
      const later: string[] = []
      await waitFor(async () => {
        later.push(...(await drain(okQueue)))
        return later.includes(after.messageId)
      })
    } finally {
      await publisher.close?.()
      await connection.close()
    }
  })
})
