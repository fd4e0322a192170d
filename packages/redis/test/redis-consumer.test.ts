import { InvalidOptionError, type Logger, type OutboxMessage } from '@txbox/core'
import { consumeRedisStream, RedisConsumerStartError, type RedisStreamConsumer, type RedisStreamMessage, redisStreamsPublisher } from '@txbox/redis'
import { uniqueName, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest'
import { recordingLogger } from './consumer-fixture.js'
import { deleteKeys, outboxMessage, readStream, testRedis } from './redis-test-keys.js'

const redis = testRedis()
const prefix = `${uniqueName('redis_consumer')}:`
const consumers: RedisStreamConsumer[] = []
// Short timings keep the file quick; the defaults are seconds.
// handlerTimeoutMs: tests hold handlers open while they look at Redis.
const fast = { blockMs: 100, claimIdleMs: 200, handlerTimeoutMs: 10_000 }
// Many tests fail handlers on purpose: keep their warnings off the console.
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} }

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()))
})
afterAll(async () => {
  await deleteKeys(redis, prefix)
  await redis.quit()
})

async function publish(stream: string, messages: OutboxMessage[]): Promise<void> {
  const results = await redisStreamsPublisher({ redis, stream }).publish(messages, { signal: new AbortController().signal })
  expect(results.every((r) => r.ok)).toBe(true)
}

async function pending(stream: string, group: string): Promise<number> {
  return Number(((await redis.xpending(stream, group)) as [number])[0])
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {}
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

async function consume(options: Omit<Parameters<typeof consumeRedisStream>[0], 'redis'>): Promise<RedisStreamConsumer> {
  const consumer = await consumeRedisStream({ redis, ...fast, logger: quiet, ...options })
  consumers.push(consumer)
  return consumer
}

describe('consumeRedisStream', () => {
  test('a graceful stop does not spend a delivery of the entries it read and never started (maxDeliveries 1: another consumer still runs them)', async () => {
    // Found by the randomized checker's consumer half: each stop with a batch
    // in hand counted a delivery of its unstarted entries, so after a restart
    // they went to the dead letters after fewer failed runs, or none.
    const stream = `${prefix}handback`
    const messages = Array.from({ length: 4 }, () => outboxMessage('t'))
    await publish(stream, messages)
    const started = gate()
    const release = gate()
    const firstRuns: string[] = []
    const first = await consume({
      stream,
      group: 'g',
      consumer: 'c1',
      count: 4,
      maxDeliveries: 1,
      handler: async (m) => {
        firstRuns.push(m.messageId)
        started.open()
        await release.wait
      },
    })
    await started.wait
    const stopping = first.stop()
    release.open()
    await stopping
    expect(firstRuns).toEqual([messages[0]?.messageId])

    const runs: { id: string; deliveries: number }[] = []
    await consume({ stream, group: 'g', consumer: 'c2', count: 4, maxDeliveries: 1, handler: (m) => void runs.push({ id: m.messageId, deliveries: m.deliveries }) })
    await waitFor(async () => (await pending(stream, 'g')) === 0 && runs.length >= 3, { message: 'the entries c1 never started handled by c2' })
    expect(runs).toEqual(messages.slice(1).map((m) => ({ id: m.messageId, deliveries: 1 })))
    expect(await redis.xlen(`${stream}:dead`)).toBe(0)
  })

  test('hands each entry over decoded and acknowledges it only after the handler succeeded', async () => {
    const stream = `${prefix}ack`
    const m = outboxMessage('user.created', { key: 'user:7', payload: '{"id": 7}', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })
    await publish(stream, [m])
    const [entry] = await readStream(redis, stream)
    const held = gate()
    const got: RedisStreamMessage[] = []
    await consume({
      stream,
      group: 'g',
      consumer: 'c1',
      handler: async (message) => {
        got.push(message)
        await held.wait
      },
    })

    await waitFor(() => got.length === 1, { message: 'the handler was called' })
    expect(got[0]).toEqual({
      messageId: m.messageId,
      topic: 'user.created',
      key: 'user:7',
      payload: { id: 7 },
      headers: m.headers,
      stream,
      streamId: entry?.id,
      deliveries: 1,
    })
    expect(await pending(stream, 'g')).toBe(1)
    held.open()
    await waitFor(async () => (await pending(stream, 'g')) === 0, { message: 'the entry is acknowledged' })
  })

  test('a handler that throws leaves the entry pending; it is delivered again and acknowledged once it succeeds', async () => {
    const stream = `${prefix}retry`
    await publish(stream, [outboxMessage('t')])
    const deliveries: number[] = []
    await consume({
      stream,
      group: 'g',
      consumer: 'c1',
      handler: (message) => {
        deliveries.push(message.deliveries)
        if (deliveries.length === 1) throw new Error('transient')
      },
    })
    await waitFor(() => deliveries.length === 1)
    expect(await pending(stream, 'g')).toBe(1)
    await waitFor(async () => deliveries.length === 2 && (await pending(stream, 'g')) === 0, { message: 'redelivered and acknowledged' })
    expect(deliveries).toEqual([1, 2])
  })

  test('entries a dead consumer read but never acknowledged are claimed by another consumer after claimIdleMs', async () => {
    const stream = `${prefix}recover`
    const messages = [outboxMessage('t'), outboxMessage('t'), outboxMessage('t')]
    await publish(stream, messages)
    // Consumer A reads everything, then dies without acknowledging.
    await redis.xgroup('CREATE', stream, 'g', '0')
    const readByA = (await redis.xreadgroup('GROUP', 'g', 'a', 'COUNT', 10, 'STREAMS', stream, '>')) as [string, unknown[]][]
    expect(readByA[0]?.[1]).toHaveLength(3)

    const got: RedisStreamMessage[] = []
    const started = Date.now()
    await consume({ stream, group: 'g', consumer: 'b', handler: (m) => void got.push(m) })
    await waitFor(async () => got.length === 3 && (await pending(stream, 'g')) === 0, { message: 'B handled and acknowledged A’s entries' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(fast.claimIdleMs - 50)
    expect(got.map((m) => m.messageId)).toEqual(messages.map((m) => m.messageId))
    expect(got.map((m) => m.deliveries)).toEqual([2, 2, 2])
  })

  test('a consumer restarted under the same name resumes its own pending entries at once', async () => {
    const stream = `${prefix}resume`
    const m = outboxMessage('t')
    await publish(stream, [m])
    await redis.xgroup('CREATE', stream, 'g', '0')
    await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', stream, '>')
    const got: RedisStreamMessage[] = []
    // claimIdleMs far away: only the consumer's own pending list can explain the delivery.
    await consume({ stream, group: 'g', consumer: 'c1', claimIdleMs: 60_000, handler: (msg) => void got.push(msg) })
    await waitFor(async () => got.length === 1 && (await pending(stream, 'g')) === 0, { timeoutMs: 3000 })
    expect(got[0]?.messageId).toBe(m.messageId)
    expect(got[0]?.deliveries).toBe(2)
  })

  test('an entry that failed maxDeliveries times moves to the dead-letter stream and is acknowledged', async () => {
    const stream = `${prefix}dlq`
    const m = outboxMessage('t', { key: 'k1', payload: '{"poison": true}' })
    await publish(stream, [m])
    const [original] = await readStream(redis, stream)
    let calls = 0
    await consume({
      stream,
      group: 'g',
      consumer: 'c1',
      maxDeliveries: 3,
      handler: () => {
        calls++
        throw new Error(`boom ${calls}`)
      },
    })
    await waitFor(async () => (await redis.exists(`${stream}:dead`)) === 1, { message: 'a dead letter was written' })
    await waitFor(async () => (await pending(stream, 'g')) === 0, { message: 'the entry is acknowledged' })
    expect(calls).toBe(3)
    const dead = await readStream(redis, `${stream}:dead`)
    expect(dead).toHaveLength(1)
    expect(dead[0]?.fields).toEqual({
      ...original?.fields,
      sourceStream: stream,
      sourceId: original?.id,
      group: 'g',
      consumer: 'c1',
      deliveries: '3',
      error: 'boom 3',
    })
  })

  test('an entry that cannot be decoded goes to the dead-letter stream without calling the handler', async () => {
    const stream = `${prefix}malformed`
    await redis.xadd(stream, '*', 'messageId', 'm-1', 'topic', 't', 'payload', '{not json')
    let calls = 0
    await consume({ stream, group: 'g', consumer: 'c1', deadLetterStream: `${prefix}malformed-dead`, handler: () => void calls++ })
    await waitFor(async () => (await redis.xlen(`${prefix}malformed-dead`)) === 1 && (await pending(stream, 'g')) === 0)
    const [dead] = await readStream(redis, `${prefix}malformed-dead`)
    expect(dead?.fields.error).toMatch(/^malformed entry: the payload field is not JSON/)
    expect(calls).toBe(0)
  })

  test('stop() lets the handler in flight finish and acknowledge, then resolves; calling it again is harmless', async () => {
    const stream = `${prefix}stop`
    await publish(stream, [outboxMessage('t'), outboxMessage('t')])
    const held = gate()
    let started = 0
    let finished = 0
    const consumer = await consumeRedisStream({
      redis,
      ...fast,
      stream,
      group: 'g',
      consumer: 'c1',
      handler: async () => {
        started++
        await held.wait
        finished++
      },
    })
    await waitFor(() => started === 1)
    let stopped = false
    const stopping = consumer.stop().then(() => (stopped = true))
    await redis.ping() // a round trip: stop() had every chance to resolve early
    expect(stopped).toBe(false)
    held.open()
    await stopping
    await consumer.stop()
    expect(finished).toBe(1)
    // The in-flight entry was acknowledged; the one not started stays pending for a later run.
    expect(started).toBe(1)
    expect(await pending(stream, 'g')).toBe(1)
    expect(redis.status).toBe('ready')
  })

  test('stop() ends a blocking read at once instead of waiting out blockMs', async () => {
    const stream = `${prefix}stop-idle`
    // A connection name (inherited by the consumer's duplicate) to find its connection in CLIENT LIST.
    const name = `${prefix.replaceAll(':', '')}-stop-idle`
    const own = testRedis({ connectionName: name })
    try {
      const consumer = await consumeRedisStream({ redis: own, stream, group: 'g', consumer: 'c1', blockMs: 10_000, handler: () => {} })
      const blocked = async () =>
        ((await redis.client('LIST')) as string).split('\n').some((line) => line.includes(`name=${name} `) && line.includes('cmd=xreadgroup') && /flags=\S*b/.test(line))
      await waitFor(blocked, { message: 'the consumer is blocked in XREADGROUP' })
      const began = Date.now()
      await consumer.stop()
      expect(Date.now() - began).toBeLessThan(2000)
    } finally {
      await own.quit()
    }
  })

  test('wrap runs around each handler call: a wrap that skips a duplicate messageId still acknowledges it', async () => {
    const stream = `${prefix}wrap`
    const m = outboxMessage('t')
    // The relay may publish a message twice (at least once): same messageId, two entries.
    await publish(stream, [m, m, outboxMessage('t')])
    const seen = new Set<string>()
    const handled: string[] = []
    await consume({
      stream,
      group: 'g',
      consumer: 'c1',
      wrap: async (message, run) => {
        if (seen.has(message.messageId)) return
        await run()
        seen.add(message.messageId)
      },
      handler: (message) => void handled.push(message.messageId),
    })
    await waitFor(async () => (await redis.xlen(stream)) === 3 && (await pending(stream, 'g')) === 0 && handled.length === 2)
    expect(handled[0]).toBe(m.messageId)
    expect(new Set(handled).size).toBe(2)
  })

  test('a second consumer joins an existing group (BUSYGROUP is fine) and the two share the entries', async () => {
    const stream = `${prefix}share`
    const messages = Array.from({ length: 20 }, () => outboxMessage('t'))
    const got: string[] = []
    await consume({ stream, group: 'g', consumer: 'c1', count: 2, handler: (m) => void got.push(m.messageId) })
    await consume({ stream, group: 'g', consumer: 'c2', count: 2, handler: (m) => void got.push(m.messageId) })
    await publish(stream, messages)
    await waitFor(async () => got.length === 20 && (await pending(stream, 'g')) === 0)
    expect(new Set(got)).toEqual(new Set(messages.map((m) => m.messageId)))
  })

  test('a consumer whose stream (and group) was deleted makes them again and keeps consuming', async () => {
    const stream = `${prefix}recreate`
    const got: string[] = []
    await consume({ stream, group: 'g', consumer: 'c1', handler: (m) => void got.push(m.messageId) })
    await redis.del(stream)
    const m = outboxMessage('t')
    await publish(stream, [m])
    await waitFor(async () => got.length === 1 && (await pending(stream, 'g')) === 0, { message: 'the entry written after the deletion is handled' })
    expect(got).toEqual([m.messageId])
  })

  test('logs a failed handler and a dead letter to the console by default (warn, nothing at debug or info)', async () => {
    const stream = `${prefix}default-logger`
    await publish(stream, [outboxMessage('t')])
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const info = vi.spyOn(console, 'info').mockImplementation(() => {})
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {})
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    try {
      const consumer = await consumeRedisStream({
        redis,
        ...fast,
        stream,
        group: 'g',
        consumer: 'c1',
        maxDeliveries: 2,
        handler: () => {
          throw new Error('boom')
        },
      })
      consumers.push(consumer)
      await waitFor(async () => (await redis.exists(`${stream}:dead`)) === 1 && (await pending(stream, 'g')) === 0, { message: 'the entry went to the dead letters' })
      await consumer.stop()
      const messages = warn.mock.calls.map((call) => call[0])
      expect(messages).toContain('txbox redis consumer: handler failed; the entry stays pending and is retried after claimIdleMs')
      expect(messages).toContain('txbox redis consumer: entry moved to the dead-letter stream')
      expect(warn.mock.calls[0]?.[1]).toMatchObject({ stream, deliveries: 1 })
      expect(error).not.toHaveBeenCalled()
      expect(info).not.toHaveBeenCalled()
      expect(debug).not.toHaveBeenCalled()
      expect(log).not.toHaveBeenCalled()
    } finally {
      for (const spy of [warn, error, info, debug, log]) spy.mockRestore()
    }
  })

  test('a logger given replaces the console', async () => {
    const stream = `${prefix}own-logger`
    await publish(stream, [outboxMessage('t')])
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const lines: [level: string, message: string][] = []
    const logger: Logger = {
      debug: (_f, m) => void lines.push(['debug', m]),
      info: (_f, m) => void lines.push(['info', m]),
      warn: (_f, m) => void lines.push(['warn', m]),
      error: (_f, m) => void lines.push(['error', m]),
    }
    try {
      await consume({
        stream,
        group: 'g',
        consumer: 'c1',
        maxDeliveries: 1,
        logger,
        handler: () => {
          throw new Error('boom')
        },
      })
      await waitFor(async () => (await redis.exists(`${stream}:dead`)) === 1 && (await pending(stream, 'g')) === 0, { message: 'the entry went to the dead letters' })
      expect(lines).toContainEqual(['warn', 'txbox redis consumer: entry moved to the dead-letter stream'])
      expect(warn).not.toHaveBeenCalled()
    } finally {
      warn.mockRestore()
    }
  })

  test('an entry whose messageId is not UTF-8 text or is empty goes to the dead letters with the reason; the handler never sees it', async () => {
    const stream = `${prefix}bad-ids`
    const dead = `${prefix}bad-ids-dead`
    // Two different byte strings that a lossy UTF-8 decoding folds to the same text, and an empty id.
    await redis.xadd(stream, '*', 'messageId', Buffer.from([0x6d, 0xff]), 'topic', 't', 'payload', '{}')
    await redis.xadd(stream, '*', 'messageId', Buffer.from([0x6d, 0xfe]), 'topic', 't', 'payload', '{}')
    await redis.xadd(stream, '*', 'messageId', '', 'topic', 't', 'payload', '{}')
    await redis.xadd(stream, '*', 'messageId', 'm-ok', 'topic', 't', 'payload', Buffer.from([0x22, 0xc3, 0x22]))
    const handled: string[] = []
    await consume({ stream, group: 'g', consumer: 'c1', deadLetterStream: dead, handler: (m) => void handled.push(m.messageId) })
    await waitFor(async () => (await redis.xlen(dead)) === 4 && (await pending(stream, 'g')) === 0, { message: 'all four went to the dead letters' })
    expect(handled).toEqual([])
    const errors = (await readStream(redis, dead)).map((e) => e.fields.error)
    expect(errors).toEqual([
      'malformed entry: the messageId field is not valid UTF-8',
      'malformed entry: the messageId field is not valid UTF-8',
      'malformed entry: the messageId field is empty',
      'malformed entry: the payload field is not valid UTF-8',
    ])
    // The dead letters keep the original bytes.
    const raw = await redis.xrangeBuffer(dead, '-', '+')
    expect(raw.slice(0, 2).map(([, fields]) => fields[1])).toEqual([Buffer.from([0x6d, 0xff]), Buffer.from([0x6d, 0xfe])])
  })

  test('a group destroyed under a running consumer is created again at startId, and the consumer says how many entries it delivers again', async () => {
    const stream = `${prefix}destroyed`
    const messages = [outboxMessage('t'), outboxMessage('t')]
    await publish(stream, messages)
    const handled: string[] = []
    const logger = recordingLogger()
    await consume({ stream, group: 'g', consumer: 'c1', logger, handler: (m) => void handled.push(m.messageId) })
    await waitFor(async () => handled.length === 2 && (await pending(stream, 'g')) === 0)
    await redis.xgroup('DESTROY', stream, 'g')

    await waitFor(() => handled.length === 4, { message: 'the stream is delivered again to the new group' })
    const [report] = logger.find(/consumer group was missing/)
    expect(report?.level).toBe('warn')
    expect(report?.fields).toMatchObject({ stream, group: 'g', startId: '0', entries: 2 })
  })

  test('a consumer that cannot reach Redis fails with RedisConsumerStartError naming the host and port', async () => {
    // As the ioredis defaults do after 12 s (20 retries), quicker: MaxRetriesPerRequestError, which names no host.
    const unreachable = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 1, retryStrategy: () => 10 })
    unreachable.on('error', () => {})
    try {
      const started = consumeRedisStream({ redis: unreachable, stream: `${prefix}nowhere`, group: 'g', consumer: 'c', handler: () => {} })
      await expect(started).rejects.toThrow(RedisConsumerStartError)
      await expect(started).rejects.toThrow(/Redis at 127\.0\.0\.1:1\b/)
      await expect(started).rejects.toMatchObject({ code: 'REDIS_CONSUMER_START', stream: `${prefix}nowhere`, group: 'g' })
    } finally {
      unreachable.disconnect()
    }
  })

  test('bad options fail with InvalidOptionError before anything is created', async () => {
    const base = { redis, stream: `${prefix}bad`, group: 'g', consumer: 'c', handler: () => {} }
    await expect(consumeRedisStream({ ...base, handler: undefined as never })).rejects.toThrow(InvalidOptionError)
    await expect(consumeRedisStream({ ...base, group: '' })).rejects.toThrow(/group must be a non-empty string/)
    await expect(consumeRedisStream({ ...base, maxDeliveries: 0 })).rejects.toThrow(/maxDeliveries must be a positive integer/)
    await expect(consumeRedisStream({ ...base, deadLetterStream: base.stream })).rejects.toThrow(/deadLetterStream must differ/)
    await expect(consumeRedisStream({ ...base, blockMS: 5 } as never)).rejects.toThrow(/unknown option "blockMS"/)
    expect(await redis.exists(base.stream)).toBe(0)
  })
})
