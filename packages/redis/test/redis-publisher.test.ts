import { InvalidOptionError } from '@txbox/core'
import { RedisPublishError, RedisStreamWriteError, redisStreamsPublisher } from '@txbox/redis'
import { uniqueName } from '@txbox/testing'
import { afterAll, describe, expect, test } from 'vitest'
import { deleteKeys, outboxMessage, readStream, testRedis } from './redis-test-keys.js'

const redis = testRedis()
const prefix = `${uniqueName('redis_pub')}:`
const live = () => new AbortController().signal

afterAll(async () => {
  await deleteKeys(redis, prefix)
  await redis.quit()
})

describe('redisStreamsPublisher', () => {
  test('writes messageId, topic and the payload text as given, plus key and headers only when present', async () => {
    const stream = `${prefix}layout`
    const keyed = outboxMessage(stream, {
      key: 'user:42',
      payload: '{"userId": 42, "name": "Zoë"}',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-tenant': 'acme' },
    })
    const bare = outboxMessage(stream, { payload: '[1, 2]' })
    const results = await redisStreamsPublisher({ redis }).publish([keyed, bare], { signal: live() })
    expect(results).toEqual([{ ok: true }, { ok: true }])

    const raw = await redis.xrange(stream, '-', '+')
    expect(raw.map(([, fields]) => fields)).toEqual([
      ['messageId', keyed.messageId, 'topic', stream, 'payload', '{"userId": 42, "name": "Zoë"}', 'key', 'user:42', 'headers', JSON.stringify(keyed.headers)],
      ['messageId', bare.messageId, 'topic', stream, 'payload', '[1, 2]'],
    ])
  })

  test('a batch goes in one call whatever its streams: the script text the first time, its SHA after', async () => {
    const client = testRedis()
    const commands: string[] = []
    const call = client.call.bind(client) as (...args: unknown[]) => Promise<unknown>
    Object.assign(client, {
      call(...args: unknown[]) {
        commands.push(String(args[0]))
        return call(...args)
      },
    })
    try {
      const publisher = redisStreamsPublisher({ redis: client })
      const batch = () => Array.from({ length: 12 }, (_, i) => outboxMessage(`${prefix}one-call-${i % 4}`, { key: `k${i % 3}` }))
      for (let i = 0; i < 2; i++) expect((await publisher.publish(batch(), { signal: live() })).every((r) => r.ok)).toBe(true)
      expect(commands).toEqual(['EVAL', 'EVALSHA'])
      expect(await redis.xlen(`${prefix}one-call-0`)).toBe(6)
    } finally {
      await client.quit()
    }
  })

  test('a stream key holding a string fails only the messages for that stream', async () => {
    const good = `${prefix}iso-good`
    const bad = `${prefix}iso-bad`
    await redis.set(bad, 'not a stream')
    const batch = [outboxMessage(good), outboxMessage(bad), outboxMessage(good), outboxMessage(bad), outboxMessage(good)]
    const results = await redisStreamsPublisher({ redis }).publish(batch, { signal: live() })

    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true])
    for (const r of [results[1], results[3]]) {
      const error = r && !r.ok ? r.error : undefined
      expect(error).toBeInstanceOf(RedisPublishError)
      expect(error).toMatchObject({ reason: 'refused', messageId: batch[results.indexOf(r)]?.messageId, stream: bad })
      expect(error?.message).toContain('WRONGTYPE')
    }
    expect((await readStream(redis, good)).map((e) => e.fields.messageId)).toEqual([batch[0], batch[2], batch[4]].map((m) => m?.messageId))
    expect(await redis.get(bad)).toBe('not a stream')
  })

  test('RedisStreamWriteError, the former name of RedisPublishError, is the same class', () => {
    expect(RedisStreamWriteError).toBe(RedisPublishError)
  })

  test('maxLen trims each stream to about that many entries', async () => {
    const stream = `${prefix}trim`
    const publisher = redisStreamsPublisher({ redis, maxLen: 10 })
    const batch = Array.from({ length: 300 }, () => outboxMessage(stream))
    const results = await publisher.publish(batch, { signal: live() })
    expect(results.every((r) => r.ok)).toBe(true)
    // `~` trims whole radix-tree nodes (100 entries by default), so the stream
    // keeps at least 10 and far fewer than 300; the newest entry is always kept.
    const len = await redis.xlen(stream)
    expect(len).toBeGreaterThanOrEqual(10)
    expect(len).toBeLessThan(300)
    const [last] = await redis.xrevrange(stream, '+', '-', 'COUNT', 1)
    expect(last?.[1][1]).toBe(batch[299]?.messageId)
  })

  test('the stream can be a fixed name or a function of the message', async () => {
    const fixed = `${prefix}fixed`
    await redisStreamsPublisher({ redis, stream: fixed }).publish([outboxMessage('orders.created'), outboxMessage('orders.paid')], { signal: live() })
    expect((await readStream(redis, fixed)).map((e) => e.fields.topic)).toEqual(['orders.created', 'orders.paid'])

    const byTenant = redisStreamsPublisher({ redis, stream: (m) => `${prefix}tenant:${m.headers['x-tenant']}` })
    const a = outboxMessage('t', { headers: { 'x-tenant': 'a' } })
    const b = outboxMessage('t', { headers: { 'x-tenant': 'b' } })
    expect(await byTenant.publish([a, b], { signal: live() })).toEqual([{ ok: true }, { ok: true }])
    expect((await readStream(redis, `${prefix}tenant:a`)).map((e) => e.fields.messageId)).toEqual([a.messageId])
    expect((await readStream(redis, `${prefix}tenant:b`)).map((e) => e.fields.messageId)).toEqual([b.messageId])
  })

  test('a stream function that throws or returns no name fails that message alone', async () => {
    const stream = `${prefix}fn-fail`
    const publisher = redisStreamsPublisher({
      redis,
      stream: (m) => {
        if (m.key === 'throw') throw new Error('no route')
        return m.key === 'empty' ? '' : stream
      },
    })
    const results = await publisher.publish(
      [outboxMessage('t', { key: 'throw' }), outboxMessage('t', { key: 'ok' }), outboxMessage('t', { key: 'empty' })],
      { signal: live() },
    )
    expect(results.map((r) => r.ok)).toEqual([false, true, false])
    expect(results[0] && !results[0].ok && results[0].error.message).toContain('no route')
    expect(await redis.xlen(stream)).toBe(1)
  })

  test('an aborted signal fails every message and writes nothing', async () => {
    const stream = `${prefix}aborted`
    const controller = new AbortController()
    controller.abort(new Error('publish timeout'))
    const results = await redisStreamsPublisher({ redis }).publish([outboxMessage(stream), outboxMessage(stream)], { signal: controller.signal })
    expect(results.map((r) => r.ok)).toEqual([false, false])
    expect(await redis.exists(stream)).toBe(0)
  })

  test('stops waiting for Redis once the signal aborts, counting nothing as published', async () => {
    const stream = `${prefix}abort-late`
    const busy = testRedis()
    try {
      // A blocking command ahead on the same connection holds the pipeline's replies back.
      const blocked = busy.blpop(`${prefix}never`, 0.5)
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(new Error('publish timeout')), 50)
      const started = Date.now()
      const results = await redisStreamsPublisher({ redis: busy }).publish([outboxMessage(stream)], { signal: controller.signal })
      clearTimeout(timer)
      expect(Date.now() - started).toBeLessThan(400)
      expect(results[0]?.ok).toBe(false)
      expect(results[0] && !results[0].ok && results[0].error.message).toContain('aborted')
      await blocked
    } finally {
      await busy.quit()
    }
  })

  test('close() leaves the caller’s client open', async () => {
    const publisher = redisStreamsPublisher({ redis })
    await publisher.close?.()
    await publisher.close?.()
    expect(redis.status).toBe('ready')
    expect(await redis.ping()).toBe('PONG')
  })

  test('bad options fail at creation with InvalidOptionError', () => {
    expect(() => redisStreamsPublisher({} as never)).toThrow(InvalidOptionError)
    expect(() => redisStreamsPublisher({ redis, maxLen: 0 })).toThrow(/maxLen must be a positive integer/)
    expect(() => redisStreamsPublisher({ redis, stream: '' })).toThrow(/stream must be a non-empty string/)
    expect(() => redisStreamsPublisher({ redis, maxlen: 5 } as never)).toThrow(/unknown option "maxlen"/)
  })
})
