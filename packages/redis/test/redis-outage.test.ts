import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createRelay, enqueueOnCommit, migrate, type Relay, withTransaction } from '@txbox/core'
import { RedisPublishError, redisStreamsPublisher } from '@txbox/redis'
import { useTestDatabase, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { outboxMessage as outboxMessageFor, readStream } from './redis-test-keys.js'

// This file kills Redis, so it runs its own redis-server on a free port and
// never touches the shared one.

const t = useTestDatabase('redis_outage')
let port = 0
let server: ChildProcess | undefined
let redis: Redis | undefined
let relay: Relay | undefined

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

function startServer(): ChildProcess {
  // No persistence: a restarted server comes back empty, so what the stream
  // holds afterwards was delivered after the restart.
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
}

async function killServer(): Promise<void> {
  const s = server
  server = undefined
  if (!s || s.exitCode !== null || s.signalCode !== null) return
  const exited = new Promise((resolve) => s.once('exit', resolve))
  s.kill('SIGKILL')
  await exited
}

async function outboxRows(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${t.schema}.outbox`)}`.execute(t.db)
  return Number(rows[0]?.n)
}

async function enqueue(phase: string, count: number): Promise<{ key: string; seq: number }[]> {
  const sent: { key: string; seq: number }[] = []
  for (let seq = 0; seq < count; seq++) {
    const key = `${phase}-k${seq % 3}`
    await withTransaction(t.db, async (trx) => {
      await enqueueOnCommit(trx, { topic: 'orders', key, payload: { key, seq } }, { schema: t.schema })
    })
    sent.push({ key, seq })
  }
  return sent
}

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  port = await freePort()
  server = startServer()
  redis = new Redis({
    host: '127.0.0.1',
    port,
    // Fail commands at once while Redis is down instead of queueing them, and
    // reconnect quickly so the test sees the recovery soon after the restart.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  })
  redis.on('error', () => {}) // connection refused while the server is down is expected
  await waitFor(() => redis?.status === 'ready', { timeoutMs: 10_000, message: 'the private redis-server accepts connections' })
})

afterAll(async () => {
  await relay?.stop()
  redis?.disconnect()
  await killServer()
})

test('while Redis is unreachable messages stay in the outbox, spend no attempts, none counts as published, and all are delivered once it is back', async () => {
  const client = redis as Redis
  const published: string[] = []
  let failures = 0
  let unreachable = 0
  const warnings: string[] = []
  relay = createRelay({
    db: t.db,
    publisher: redisStreamsPublisher({ redis: client, stream: 'orders' }),
    schema: t.schema,
    pollInterval: 50,
    backoff: { initialDelay: 10, maxDelay: 20 },
    // Fewer tries than the outage lasts: an outage is not the messages' fault
    // and must not move them to the dead letters.
    maxAttempts: 2,
    logger: { debug() {}, info() {}, warn: (_o, m) => warnings.push(m), error() {} },
  })
  relay.on('published', ({ messages }) => published.push(...messages.map((m) => m.messageId)))
  relay.on('failed', () => failures++)
  relay.on('unreachable', () => unreachable++)
  relay.start()

  // Up: delivered.
  await enqueue('before', 6)
  await waitFor(async () => (await client.xlen('orders')) === 6 && (await outboxRows()) === 0, { message: 'the first messages are delivered' })
  expect(published).toHaveLength(6)

  // Down: the relay keeps trying, nothing leaves the outbox, nothing counts as published.
  // A publish in flight when the connection drops: its replies never come, so every message fails.
  const held = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  held.on('error', () => {})
  try {
    await waitFor(() => held.status === 'ready')
    held.blpop('never', 0).catch(() => {}) // holds the pipeline's replies back
    const inflight = redisStreamsPublisher({ redis: held, stream: 'inflight' }).publish([outboxMessageFor('t'), outboxMessageFor('t')], {
      signal: new AbortController().signal,
    })
    await killServer()
    const results = await inflight
    expect(results.map((r) => r.ok)).toEqual([false, false])
  } finally {
    held.disconnect()
  }
  await waitFor(() => client.status !== 'ready', { message: 'the client notices the server is gone' })
  const direct = await redisStreamsPublisher({ redis: client }).publish([outboxMessageFor('orders'), outboxMessageFor('orders')], {
    signal: new AbortController().signal,
  })
  expect(direct.map((r) => r.ok)).toEqual([false, false])
  for (const r of direct) {
    expect(!r.ok && r.error).toBeInstanceOf(RedisPublishError)
    expect(!r.ok && r.error).toMatchObject({ reason: 'unavailable' })
  }
  const during = await enqueue('during', 9)
  await waitFor(() => unreachable >= 5, { message: 'the relay tried more often than maxAttempts allows', timeoutMs: 15_000 })
  expect(failures).toBe(0)
  expect(warnings.some((w) => w.includes('the broker is unreachable'))).toBe(true)
  const attempts = await sql<{ n: number }>`select max(attempts)::int as n from ${sql.table(`${t.schema}.outbox`)}`.execute(t.db)
  expect(attempts.rows[0]?.n).toBe(0)
  expect(await outboxRows()).toBe(9)
  expect(published).toHaveLength(6)
  const dead = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${t.schema}.outbox_dead`)}`.execute(t.db)
  expect(Number(dead.rows[0]?.n)).toBe(0)

  // Back (empty, no persistence): every message of the outage is delivered, each key in order.
  server = startServer()
  await waitFor(async () => client.status === 'ready' && (await outboxRows()) === 0, { timeoutMs: 20_000, message: 'the outbox drains after the restart' })
  const entries = await readStream(client, 'orders')
  const got = entries.map((e) => JSON.parse(e.fields.payload as string) as { key: string; seq: number })
  expect(got).toHaveLength(9)
  for (const key of ['during-k0', 'during-k1', 'during-k2']) {
    expect(got.filter((m) => m.key === key)).toEqual(during.filter((m) => m.key === key))
  }
  expect(published).toHaveLength(15)
  expect(new Set(entries.map((e) => e.fields.messageId))).toEqual(new Set(published.slice(6)))
})
