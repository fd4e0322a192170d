import { createRelay, enqueueOnCommit, migrate, type OutboxMessage, type PublishResult, withTransaction } from '@txbox/core'
import { consumeRedisStream, RedisPublishError, redisStreamsPublisher } from '@txbox/redis'
import { describePublisherConformance, type PublisherFixture, type ReceivedMessage, uniqueName, useTestDatabase, waitFor, waitForValue } from '@txbox/testing'
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type OwnRedisCluster, startOwnRedisCluster } from '../../../test/support/redis-cluster.js'
import { recordingLogger } from './consumer-fixture.js'
import { deleteClusterKeys, outboxMessage, readStream } from './redis-test-keys.js'

// The Streams publisher on a real three-master Redis Cluster, started by this
// file on free ports and removed afterwards (the shared Redis is one node).

let cluster: OwnRedisCluster
let redis: Cluster
const prefix = `${uniqueName('redis_cluster')}:`
const live = () => new AbortController().signal

beforeAll(async () => {
  cluster = await startOwnRedisCluster()
  redis = cluster.client()
})
afterAll(async () => {
  await redis?.quit()
  await cluster?.close()
})

describePublisherConformance(
  'redis cluster',
  async (): Promise<PublisherFixture> => {
    const client = cluster.client()
    const fixturePrefix = `${uniqueName('cluster_conf')}:`
    const publisher = redisStreamsPublisher({ redis: client })
    let closed: Promise<void> | undefined
    return {
      publisher,
      // Each topic its own stream: the suite's topics fall in different slots and nodes.
      topic: (name) => `${fixturePrefix}${name}`,
      async received(topic, count): Promise<ReceivedMessage[]> {
        const entries = await waitForValue(
          () => readStream(client, topic),
          (e) => e.length >= count,
          { timeoutMs: 5000, message: `${count} entries in ${topic}` },
        )
        return entries.map(({ fields }) => ({
          messageId: fields.messageId as string,
          topic: fields.topic as string,
          key: fields.key ?? null,
          payload: JSON.parse(fields.payload as string),
          headers: fields.headers === undefined ? {} : JSON.parse(fields.headers),
        }))
      },
      async breakTopic(topic) {
        await client.set(topic, 'not a stream')
      },
      close() {
        closed ??= (async () => {
          await publisher.close?.()
          await deleteClusterKeys(client, fixturePrefix)
          await client.quit()
        })()
        return closed
      },
    }
  },
  { stopsKeyOnFailure: true },
)

/** A script call as the client sent it, in one clock with the others: when it was sent, answered, and which of its messages Redis wrote. */
interface ScriptCall {
  readonly command: 'EVAL' | 'EVALSHA'
  readonly sentAt: number
  readonly messageIds: readonly string[]
  answeredAt?: number
  written?: readonly boolean[]
}

/** A Cluster client that records its EVAL / EVALSHA calls. The caller quits it. */
function recordingClient(): { client: Cluster; calls: ScriptCall[] } {
  const client = cluster.client()
  const calls: ScriptCall[] = []
  let clock = 0
  const call = client.call.bind(client) as (...args: unknown[]) => Promise<unknown>
  Object.assign(client, {
    call(...args: unknown[]) {
      const reply = call(...args)
      const command = String(args[0]).toUpperCase()
      if (command !== 'EVAL' && command !== 'EVALSHA') return reply
      const messageIds = args.flatMap((arg, i) => (args[i - 1] === 'messageId' ? [String(arg)] : []))
      const record: ScriptCall = { command, sentAt: clock++, messageIds }
      calls.push(record)
      // Attached before the publisher awaits the reply, so it runs first: an
      // answer is stamped before anything the publisher sends because of it.
      reply.then(
        (value) => {
          record.answeredAt = clock++
          record.written = messageIds.map((_, i) => Array.isArray(value) && typeof value[i] === 'string' && !value[i].startsWith('!'))
        },
        () => {
          record.answeredAt = clock++
          record.written = messageIds.map(() => false)
        },
      )
      return reply
    },
  })
  return { client, calls }
}

/**
 * Checks that each message was written exactly once, and each after the one
 * before it: in the same script call, later in that call; in another call,
 * sent only once the call that wrote the one before had been answered.
 */
function expectWrittenOnceInOrder(calls: readonly ScriptCall[], messageIds: readonly string[]): void {
  const writes = messageIds.map((id) => {
    const found = calls.flatMap((call) => call.messageIds.flatMap((m, position) => (m === id && call.written?.[position] ? [{ call, position }] : [])))
    expect(found, `message ${id} written once`).toHaveLength(1)
    return found[0] as { call: ScriptCall; position: number }
  })
  for (let i = 1; i < writes.length; i++) {
    const before = writes[i - 1] as { call: ScriptCall; position: number }
    const after = writes[i] as { call: ScriptCall; position: number }
    if (before.call === after.call) expect(after.position).toBeGreaterThan(before.position)
    else expect(after.call.sentAt, `message ${i} of the key sent after message ${i - 1} was confirmed`).toBeGreaterThan(before.call.answeredAt as number)
  }
}

/** Stream names under `name`, one on each master, each in its own slot. */
async function streamsOnEachMaster(name: string): Promise<string[]> {
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
  const portOf = (slot: number) => ranges.find(([first, last]) => slot >= first && slot <= last)?.[2][1]
  const masters = new Set(ranges.map((range) => range[2][1])).size
  const byMaster = new Map<number | undefined, string>()
  for (let i = 0; byMaster.size < masters; i++) {
    const stream = `${prefix}${name}-${i}`
    const port = portOf(Number(await redis.call('CLUSTER', 'KEYSLOT', stream)))
    if (!byMaster.has(port)) byMaster.set(port, stream)
  }
  return [...byMaster.values()]
}

/** The master serving `stream`. */
async function masterOf(stream: string): Promise<Redis> {
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', stream))
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
  const port = ranges.find(([first, last]) => slot >= first && slot <= last)?.[2][1]
  const node = redis.nodes('master').find((n) => n.options.port === port)
  if (!node) throw new Error(`no master serves slot ${slot}`)
  return node
}

const ids = (batch: readonly OutboxMessage[], ...indexes: number[]) => indexes.map((i) => batch[i]?.messageId)
const streamIds = async (stream: string) => (await readStream(redis, stream)).map((e) => e.fields.messageId)
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const oks = (results: readonly PublishResult[]) => results.map((r) => r.ok)

describe('redisStreamsPublisher on a Redis Cluster', () => {
  test('a batch over streams on different masters: every message written, each stream in batch order, one call per slot, sent together', async () => {
    const streams = await streamsOnEachMaster('spread')
    const { client, calls } = recordingClient()
    try {
      const batch = Array.from({ length: 30 }, (_, i) =>
        outboxMessage(streams[i % 3] as string, { key: i % 2 === 0 ? `k${i % 3}` : null, payload: JSON.stringify({ i }) }),
      )
      const results = await redisStreamsPublisher({ redis: client }).publish(batch, { signal: live() })
      expect(oks(results)).toEqual(batch.map(() => true))
      for (const [s, stream] of streams.entries()) {
        expect(await streamIds(stream)).toEqual(batch.filter((_, i) => i % 3 === s).map((m) => m.messageId))
      }
      // Each key stays in one stream: one round, one call per slot, all sent before the first answer.
      expect(calls).toHaveLength(3)
      expect(Math.max(...calls.map((c) => c.sentAt))).toBeLessThan(Math.min(...calls.map((c) => c.answeredAt as number)))
    } finally {
      await client.quit()
    }
  })

  test('a key whose messages go to streams in different slots is written in order: each run is sent once the run before it was confirmed', async () => {
    const [a, b, c] = (await streamsOnEachMaster('order')) as [string, string, string]
    const { client, calls } = recordingClient()
    try {
      const k = [a, b, a, a, c, c, a, b].map((stream, seq) => outboxMessage(stream, { key: 'K', payload: JSON.stringify({ seq }) }))
      const j = [b, b, b].map((stream) => outboxMessage(stream, { key: 'J' }))
      const batch = [k[0], j[0], k[1], k[2], k[3], outboxMessage(c), j[1], k[4], k[5], k[6], j[2], k[7]] as OutboxMessage[]
      const results = await redisStreamsPublisher({ redis: client }).publish(batch, { signal: live() })
      expect(oks(results)).toEqual(batch.map(() => true))

      expectWrittenOnceInOrder(calls, k.map((m) => m.messageId))
      expectWrittenOnceInOrder(calls, j.map((m) => m.messageId))
      // K has six runs (a | b | a a | c c | a | b): six rounds. J (all in b) and
      // the unkeyed message go in the first, with K's first run, all sent together.
      expect(calls).toHaveLength(3 + 5)
      const first = calls.slice(0, 3)
      expect(Math.max(...first.map((call) => call.sentAt))).toBeLessThan(Math.min(...first.map((call) => call.answeredAt as number)))
      expect(first.flatMap((call) => call.messageIds).sort()).toEqual([...ids(k, 0), ...ids(j, 0, 1, 2), batch[5]?.messageId].sort())
      expect(await streamIds(a)).toEqual(ids(k, 0, 2, 3, 6))
      const inB = await streamIds(b)
      expect(inB).toHaveLength(5)
      expect(inB.filter((id) => ids(k, 1, 7).includes(id))).toEqual(ids(k, 1, 7))
      expect(inB.filter((id) => ids(j, 0, 1, 2).includes(id))).toEqual(ids(j, 0, 1, 2))
      expect((await streamIds(c)).sort()).toEqual([...ids(k, 4, 5), batch[5]?.messageId].sort())
    } finally {
      await client.quit()
    }
  })

  test('once a message of a key fails, its later messages are not written in any slot; other keys and unkeyed messages are unaffected', async () => {
    const [a, b, c] = (await streamsOnEachMaster('fail')) as [string, string, string]
    await redis.set(b, 'not a stream')
    const batch = [
      outboxMessage(a, { key: 'K' }), // 0
      outboxMessage(c, { key: 'J' }), // 1
      outboxMessage(a, { key: 'K' }), // 2
      outboxMessage(a), // 3
      outboxMessage(b, { key: 'K' }), // 4: WRONGTYPE
      outboxMessage(a, { key: 'J' }), // 5
      outboxMessage(b), // 6: WRONGTYPE
      outboxMessage(c, { key: 'K' }), // 7: held back
      outboxMessage(c, { key: 'J' }), // 8
      outboxMessage(a, { key: 'K' }), // 9: held back
      outboxMessage(c), // 10
    ]
    const results = await redisStreamsPublisher({ redis }).publish(batch, { signal: live() })
    expect(oks(results)).toEqual([true, true, true, true, false, true, false, false, true, false, true])

    for (const i of [4, 6]) {
      const failed = results[i] as Extract<PublishResult, { ok: false }>
      expect(failed.error).toBeInstanceOf(RedisPublishError)
      expect(failed.error).toMatchObject({ reason: 'refused' })
      expect(failed.error.message).toContain('WRONGTYPE')
      expect(failed.transport).toBeFalsy()
    }
    for (const i of [7, 9]) {
      const held = results[i] as Extract<PublishResult, { ok: false }>
      expect(held.error).toMatchObject({ reason: 'held-back' })
      expect(held.error.message).toContain('an earlier message of its key failed')
      expect(held.transport).toBeFalsy()
    }
    const inA = await streamIds(a)
    const inC = await streamIds(c)
    expect(inA).toEqual(expect.arrayContaining(ids(batch, 0, 2, 3, 5)))
    expect(inA).toHaveLength(4)
    expect(inC).toEqual(expect.arrayContaining(ids(batch, 1, 8, 10)))
    expect(inC).toHaveLength(3)
    // Per key, in batch order.
    expect(inA.filter((id) => ids(batch, 0, 2).includes(id))).toEqual(ids(batch, 0, 2))
    expect(inC.filter((id) => ids(batch, 1, 8).includes(id))).toEqual(ids(batch, 1, 8))
    expect(await redis.get(b)).toBe('not a stream')
  })

  test('an abort mid-batch: answered calls count, the unanswered one fails as a transport failure, and the key’s later runs are never sent', async () => {
    const [a, b, c] = (await streamsOnEachMaster('abort')) as [string, string, string]
    const { client, calls } = recordingClient()
    const paused = await masterOf(b)
    try {
      const batch = [outboxMessage(a, { key: 'K' }), outboxMessage(b, { key: 'K' }), outboxMessage(c, { key: 'K' }), outboxMessage(b, { key: 'J' }), outboxMessage(a)]
      const publisher = redisStreamsPublisher({ redis: client })
      // Holds b's master's writes (and scripts) back: the call for b's slot goes unanswered.
      await paused.call('CLIENT', 'PAUSE', 10_000, 'WRITE')
      const controller = new AbortController()
      const publishing = publisher.publish(batch, { signal: controller.signal })
      await waitFor(() => calls.some((call) => call.messageIds.includes(batch[0]?.messageId as string) && call.answeredAt !== undefined), {
        message: 'the call for a answered',
      })
      controller.abort(new Error('publish timeout'))
      const results = await publishing
      expect(oks(results)).toEqual([true, false, false, false, true])
      const [, kOnB, kOnC, jOnB] = results as Extract<PublishResult, { ok: false }>[]
      expect(jOnB?.error.message).toContain('aborted before Redis confirmed it')
      expect(jOnB?.transport).toBe(true)
      expect(kOnB?.error.message).toContain('aborted before it was sent')
      expect(kOnB?.transport).toBe(true)
      expect(kOnC?.error.message).toContain('an earlier message of its key failed')

      await paused.call('CLIENT', 'UNPAUSE')
      // The paused call still runs (a duplicate for the relay's retry, never a loss); K's later runs were never sent.
      await waitForValue(() => streamIds(b), (got) => got.length === 1, { message: 'the paused call written' })
      expect(await streamIds(b)).toEqual(ids(batch, 3))
      expect(await redis.exists(c)).toBe(0)
      expect(calls.flatMap((call) => call.messageIds)).not.toContain(batch[1]?.messageId)
    } finally {
      await paused.call('CLIENT', 'UNPAUSE').catch(() => {})
      await client.quit()
    }
  })

  test('the client’s keyPrefix takes part in the slot: streams that share a slot only without it go in separate calls', async () => {
    const keyPrefix = `${prefix}kp:`
    // Two names in one slot as given, in two slots once prefixed.
    const bySlot = new Map<number, string>()
    let pair: [string, string] | undefined
    for (let i = 0; pair === undefined; i++) {
      const name = `s${i}`
      const other = bySlot.get(calculateSlot(name))
      if (other !== undefined && calculateSlot(keyPrefix + other) !== calculateSlot(keyPrefix + name)) pair = [other, name]
      else bySlot.set(calculateSlot(name), name)
    }
    const client = cluster.client({ keyPrefix })
    try {
      const batch = [outboxMessage(pair[0], { key: 'K' }), outboxMessage(pair[1], { key: 'K' }), outboxMessage(pair[0], { key: 'K' })]
      const results = await redisStreamsPublisher({ redis: client }).publish(batch, { signal: live() })
      expect(oks(results)).toEqual([true, true, true])
      expect(await streamIds(keyPrefix + pair[0])).toEqual(ids(batch, 0, 2))
      expect(await streamIds(keyPrefix + pair[1])).toEqual(ids(batch, 1))
    } finally {
      await client.quit()
    }
  })

  test('the script text goes once per slot, then its SHA; after SCRIPT FLUSH (a restart, a failover) NOSCRIPT sends the text again', async () => {
    const streams = await streamsOnEachMaster('flush')
    const { client, calls } = recordingClient()
    try {
      const publisher = redisStreamsPublisher({ redis: client })
      const batch = () => streams.map((stream) => outboxMessage(stream))
      expect(oks(await publisher.publish(batch(), { signal: live() }))).toEqual([true, true, true])
      expect(oks(await publisher.publish(batch(), { signal: live() }))).toEqual([true, true, true])
      expect(calls.map((call) => call.command)).toEqual(['EVAL', 'EVAL', 'EVAL', 'EVALSHA', 'EVALSHA', 'EVALSHA'])

      await Promise.all(redis.nodes('master').map((node) => node.call('SCRIPT', 'FLUSH')))
      calls.length = 0
      expect(oks(await publisher.publish(batch(), { signal: live() }))).toEqual([true, true, true])
      expect(calls.map((call) => call.command).sort()).toEqual(['EVAL', 'EVAL', 'EVAL', 'EVALSHA', 'EVALSHA', 'EVALSHA'])
      for (const stream of streams) expect(await redis.xlen(stream)).toBe(3)
    } finally {
      await client.quit()
    }
  })
})

describe('the relay into a Redis Cluster', () => {
  const t = useTestDatabase('redis_cluster_relay')
  beforeAll(async () => {
    await migrate(t.db, { schema: t.schema })
  })

  test('every committed message arrives once, each key in order across streams on different masters, a broken stream holding back only its keys', async () => {
    const topics = [...(await streamsOnEachMaster('relay-a')), ...(await streamsOnEachMaster('relay-b'))]
    const broken = topics[4] as string
    await redis.set(broken, 'not a stream')
    const { client, calls } = recordingClient()
    const relay = createRelay({ db: t.db, publisher: redisStreamsPublisher({ redis: client }), schema: t.schema, batchSize: 40, backoff: () => 0, maxAttempts: 100, logger: quiet })
    try {
      const byKey = new Map<string, string[]>()
      for (let tx = 0; tx < 12; tx++) {
        const ids = await withTransaction(t.db, (trx) =>
          enqueueOnCommit(
            trx,
            Array.from({ length: 10 }, (_, i) => {
              const n = tx * 10 + i
              return { topic: topics[(n * 7) % topics.length] as string, key: `k${n % 8}`, payload: { n } }
            }),
            { schema: t.schema },
          ),
        )
        ids.forEach((id, i) => {
          const key = `k${(tx * 10 + i) % 8}`
          byKey.set(key, [...(byKey.get(key) ?? []), id])
        })
      }
      // While the stream is broken, its keys stop at their first message for it; the others go through.
      for (let i = 0; i < 6; i++) await relay.runOnce()
      const outbox = async () => Number((await sql<{ n: string }>`select count(*) as n from ${sql.id(t.schema, 'outbox')}`.execute(t.db)).rows[0]?.n)
      expect(await outbox()).toBeGreaterThan(0)

      await redis.del(broken)
      await waitFor(async () => (await relay.runOnce()) >= 0 && (await outbox()) === 0, { message: 'the outbox drained' })

      for (const messageIds of byKey.values()) expectWrittenOnceInOrder(calls, messageIds)
      const delivered = (await Promise.all(topics.map(streamIds))).flat()
      expect(delivered).toHaveLength(120)
      expect(new Set(delivered).size).toBe(120)
      const dead = await sql<{ n: string }>`select count(*) as n from ${sql.id(t.schema, 'outbox_dead')}`.execute(t.db)
      expect(Number(dead.rows[0]?.n)).toBe(0)
    } finally {
      await relay.stop()
      await client.quit()
    }
  })
})

describe('consumeRedisStream on a Redis Cluster', () => {
  test('reads, acknowledges and dead-letters (stream and dead-letter stream on different masters); stop() ends the blocked read within about a second', async () => {
    const [stream, deadLetterStream] = (await streamsOnEachMaster('consume')) as [string, string]
    const handled: string[] = []
    const consumer = await consumeRedisStream<{ fail?: boolean }>({
      redis,
      stream,
      group: 'g',
      consumer: 'c1',
      deadLetterStream,
      blockMs: 2000,
      claimIdleMs: 200,
      maxDeliveries: 2,
      // Its CLIENT UNBLOCK may reach another node than the read: stop() then drops the read's connection, and the loop logs that.
      logger: recordingLogger(),
      handler: async (m) => {
        if (m.payload.fail) throw new Error('refused')
        handled.push(m.messageId)
      },
    })
    let stopped = false
    try {
      const batch = [outboxMessage(stream), outboxMessage(stream, { payload: '{"fail": true}' }), outboxMessage(stream)]
      expect(oks(await redisStreamsPublisher({ redis }).publish(batch, { signal: live() }))).toEqual([true, true, true])
      await waitFor(async () => (await redis.xlen(deadLetterStream)) === 1 && handled.length === 2, { message: 'handled and dead-lettered' })
      expect(handled).toEqual(ids(batch, 0, 2))
      expect(((await redis.call('XPENDING', stream, 'g')) as [number])[0]).toBe(0)

      const master = await masterOf(stream)
      await waitFor(async () => String(await master.call('CLIENT', 'LIST')).split('\n').some((l) => l.includes('cmd=xreadgroup') && /flags=\S*b/.test(l)), {
        message: 'the consumer blocked in XREADGROUP',
      })
      const started = Date.now()
      await consumer.stop()
      stopped = true
      expect(Date.now() - started).toBeLessThan(2500)
    } finally {
      if (!stopped) await consumer.stop()
    }
  })
})
