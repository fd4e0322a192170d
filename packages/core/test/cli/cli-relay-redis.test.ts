import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ensureBuilt, ensureCliBuilt, repoRoot, runCli, startCli } from './cli-process.js'

// `txbox relay` against the real Redis, with @txbox/redis and ioredis installed
// in a user's project the way npm would (node_modules entries), and nowhere else.
const redisPackage = path.join(repoRoot, 'packages/redis')
const requireFromAdapter = createRequire(path.join(redisPackage, 'package.json'))
const ioredisDir = path.dirname(realpathSync(requireFromAdapter.resolve('ioredis/package.json')))
const { Redis } = requireFromAdapter('ioredis') as typeof import('ioredis')

const project = mkdtempSync(path.join(tmpdir(), 'txbox-cli-redis-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(project, 'node_modules/@txbox'), { recursive: true })
symlinkSync(redisPackage, path.join(project, 'node_modules/@txbox/redis'), 'dir')
symlinkSync(ioredisDir, path.join(project, 'node_modules/ioredis'), 'dir')

const t = useTestDatabase('clirelay')
const redisUrl = serviceUrls().redisUrl
const redis = new Redis(redisUrl)
const streams: string[] = []
const env = () => ({ DATABASE_URL: t.url, TXBOX_BROKER_URL: redisUrl })

beforeAll(async () => {
  await ensureCliBuilt()
  await ensureBuilt(redisPackage, 'dist/index.js')
  await migrate(t.db, { schema: t.schema })
}, 180_000)

afterAll(async () => {
  if (streams.length > 0) await redis.del(...streams)
  await redis.quit()
  rmSync(project, { recursive: true, force: true })
})

function newStream(): string {
  const name = uniqueName('cli_stream')
  streams.push(name)
  return name
}

async function streamEntries(stream: string): Promise<{ messageId: string; key: string | undefined; payload: string }[]> {
  const entries = await redis.xrange(stream, '-', '+')
  return entries.map(([, fields]) => {
    const f: Record<string, string> = {}
    for (let i = 0; i < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string
    return { messageId: f.messageId as string, key: f.key, payload: f.payload as string }
  })
}

function groupByKey(entries: readonly { key: string | undefined; messageId: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const e of entries) out.set(e.key as string, [...(out.get(e.key as string) ?? []), e.messageId])
  return out
}

async function outboxIds(): Promise<string[]> {
  const rows = await t.db.selectFrom(`${t.schema}.outbox`).select('message_id').execute()
  return rows.map((r) => r.message_id)
}

test('txbox relay publishes committed messages to Redis and logs JSON lines with --log-format json', async () => {
  const stream = newStream()
  const ids = await withTransaction(t.db, (trx) =>
    enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic: 'orders', key: 'k', payload: { n } })), { schema: t.schema }),
  )
  const relay = startCli(['relay', '--schema', t.schema, '--stream', stream, '--log-format', 'json', '--poll-interval', '100'], { cwd: project, env: env() })
  try {
    await waitFor(async () => (await redis.xlen(stream)) === 3, { timeoutMs: 15_000, message: `3 entries in ${stream}` })
  } finally {
    relay.kill('SIGTERM')
  }
  const result = await relay.exited
  expect(result.code).toBe(0)
  expect((await streamEntries(stream)).map((e) => e.messageId)).toEqual(ids)
  expect(await outboxIds()).toEqual([])
  const lines = result.stderr.trim().split('\n').map((line) => JSON.parse(line))
  expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['relaying; SIGTERM or Ctrl-C stops after the batch in flight', 'published 3 message(s)', 'stopping: finishing the batch in flight']))
  for (const line of lines) expect(line).toEqual(expect.objectContaining({ time: expect.any(String), level: expect.any(String), msg: expect.any(String) }))
})

test('the relay flags reach the relay: an outbox of its own table names, published with the flags given', async () => {
  const stream = newStream()
  const tables = { schema: t.schema, outboxTable: 'cli_orders', deadTable: 'cli_orders_dead', inboxTable: 'cli_orders_inbox' }
  await migrate(t.db, tables)
  const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic: 'orders', key: `k${n}`, payload: { n } })), tables))
  const flags = ['--outbox-table', 'cli_orders', '--dead-table', 'cli_orders_dead', '--inbox-table', 'cli_orders_inbox', '--poll-interval', '100']
  const relayFlags = ['--publish-timeout', '5000', '--lanes-per-claim', '4', '--backoff-initial-delay', '10', '--backoff-max-delay', '100', '--no-block-key-on-failure']
  const relay = startCli(['relay', '--schema', t.schema, '--stream', stream, ...flags, ...relayFlags], { cwd: project, env: env() })
  try {
    await waitFor(async () => (await redis.xlen(stream)) === 3, { timeoutMs: 15_000, message: `3 entries in ${stream}` })
  } finally {
    relay.kill('SIGTERM')
  }
  expect((await relay.exited).code).toBe(0)
  expect((await streamEntries(stream)).map((e) => e.messageId).sort()).toEqual([...ids].sort())
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(`${t.schema}.cli_orders`)}`.execute(t.db)
  expect(Number(rows[0]?.n)).toBe(0)
})

test('SIGTERM mid-stream: the relay finishes its batch, exits 0, and no message is lost or published twice', async () => {
  const stream = newStream()
  const total = 3000
  const keys = 20
  const ids: string[] = []
  for (let chunk = 0; chunk < total; chunk += 500) {
    ids.push(
      ...(await withTransaction(t.db, (trx) =>
        enqueueOnCommit(
          trx,
          Array.from({ length: 500 }, (_, i) => ({ topic: 'bulk', key: `k${(chunk + i) % keys}`, payload: { n: chunk + i } })),
          { schema: t.schema },
        ),
      )),
    )
  }
  const relay = startCli(['relay', '--schema', t.schema, '--stream', stream, '--batch-size', '20'], { cwd: project, env: env() })
  try {
    await waitFor(async () => (await redis.xlen(stream)) >= 200, { timeoutMs: 20_000, message: 'the relay is publishing' })
  } finally {
    relay.kill('SIGTERM')
  }
  const result = await relay.exited
  expect(result.code).toBe(0)
  expect(result.stderr).toMatch(/stopping: finishing the batch in flight/)

  const published = (await streamEntries(stream)).map((e) => e.messageId)
  const waiting = await outboxIds()
  expect(published.length).toBeLessThan(total) // it was stopped mid-stream
  expect(new Set(published).size).toBe(published.length) // nothing published twice
  expect(waiting.filter((id) => published.includes(id))).toEqual([]) // nothing both published and still waiting
  expect([...published, ...waiting].sort()).toEqual([...ids].sort()) // nothing lost
  // Per key, the published messages are the oldest ones, in enqueue order.
  const enqueuedByKey = groupByKey(ids.map((id, i) => ({ key: `k${i % keys}`, messageId: id })))
  const publishedByKey = groupByKey(await streamEntries(stream))
  expect(publishedByKey.size).toBeGreaterThan(0)
  for (const [key, got] of publishedByKey) expect(got).toEqual(enqueuedByKey.get(key)?.slice(0, got.length))

  await t.db.deleteFrom(`${t.schema}.outbox`).execute()
})

test('an unreachable Redis: one line naming the URL without its password, exit 1', async () => {
  const result = await runCli(['relay', '--schema', t.schema], { cwd: project, env: { DATABASE_URL: t.url, TXBOX_BROKER_URL: 'redis://:r3dis-pw@127.0.0.1:1' } })
  expect(result.code).toBe(1)
  expect(result.stderr.trim().split('\n')).toHaveLength(1)
  expect(result.stderr).toMatch(/^txbox: cannot reach the broker at redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/)
  expect(result.stderr).not.toContain('r3dis-pw')
})

test('missing tables: the relay exits 1 telling to run txbox migrate', async () => {
  const result = await runCli(['relay', '--schema', `${t.schema}_none`], { cwd: project, env: env() })
  expect(result.code).toBe(1)
  expect(result.stderr).toMatch(/txbox migrate/)
  expect(result.stderr).not.toMatch(/\n\s+at /)
})
