import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { parsePrometheusText, sampleValue, serviceUrls, uniqueName, useTestDatabase, waitFor, waitForValue } from '@txbox/testing'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ensureBuilt, ensureCliBuilt, repoRoot, runCli, startCli } from './cli-process.js'

// `txbox relay --metrics-port` against the real Redis, with @txbox/redis,
// ioredis and @txbox/prometheus installed in a user's project, scraped over HTTP.
const redisPackage = path.join(repoRoot, 'packages/redis')
const prometheusPackage = path.join(repoRoot, 'packages/prometheus')
const requireFromAdapter = createRequire(path.join(redisPackage, 'package.json'))
const ioredisDir = path.dirname(realpathSync(requireFromAdapter.resolve('ioredis/package.json')))
const { Redis } = requireFromAdapter('ioredis') as typeof import('ioredis')

const project = mkdtempSync(path.join(tmpdir(), 'txbox-cli-metrics-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(project, 'node_modules/@txbox'), { recursive: true })
symlinkSync(redisPackage, path.join(project, 'node_modules/@txbox/redis'), 'dir')
symlinkSync(ioredisDir, path.join(project, 'node_modules/ioredis'), 'dir')

const t = useTestDatabase('climetrics')
const redisUrl = serviceUrls().redisUrl
const redis = new Redis(redisUrl)
const good = uniqueName('good')
const bad = uniqueName('bad')
const env = () => ({ DATABASE_URL: t.url, TXBOX_BROKER_URL: redisUrl })

beforeAll(async () => {
  await ensureCliBuilt()
  await ensureBuilt(redisPackage, 'dist/index.js')
  await ensureBuilt(prometheusPackage, 'dist/index.js')
  await migrate(t.db, { schema: t.schema })
}, 180_000)

afterAll(async () => {
  await redis.del(good, bad)
  await redis.quit()
  rmSync(project, { recursive: true, force: true })
})

test('without @txbox/prometheus installed, --metrics-port says what to install', async () => {
  const result = await runCli(['relay', '--schema', t.schema, '--metrics-port', '0'], { cwd: project, env: env() })
  expect(result.code).toBe(1)
  expect(result.stderr).toMatch(/--metrics-port needs @txbox\/prometheus.*npm install @txbox\/prometheus prom-client/)
})

test('txbox relay --metrics-port: after publishes, failures and dead letters, /metrics shows each metric with its value', async () => {
  symlinkSync(prometheusPackage, path.join(project, 'node_modules/@txbox/prometheus'), 'dir')
  // The stream of topic `bad` is a plain string: every XADD to it fails (WRONGTYPE), and is retried.
  await redis.set(bad, 'not a stream')
  await withTransaction(t.db, async (trx) => {
    await enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic: good, payload: { n } })), { schema: t.schema })
    await enqueueOnCommit(trx, [1, 2].map((n) => ({ topic: bad, payload: { n } })), { schema: t.schema })
  })
  const args = ['relay', '--schema', t.schema, '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--max-attempts', '2', '--poll-interval', '50', '--log-format', 'json']
  const relay = startCli(args, { cwd: project, env: env() })
  try {
    const url = (await waitForValue(() => /"metrics":"(http:\/\/[^"]+)"/.exec(relay.stderr())?.[1], (u) => u !== undefined, { timeoutMs: 15_000, message: 'the relay logs its metrics address' })) as string
    await waitFor(async () => (await t.db.selectFrom(`${t.schema}.outbox_dead`).select('id').execute()).length === 2, { timeoutMs: 15_000, message: 'two dead letters' })
    const samples = await waitForValue(
      async () => parsePrometheusText(await (await fetch(url)).text()),
      (s) => sampleValue(s, 'txbox_messages_dead_lettered_total', { topic: bad }) === 2,
      { timeoutMs: 10_000, message: 'the scrape counts the dead letters' },
    )
    expect(await redis.xlen(good)).toBe(3)
    expect(sampleValue(samples, 'txbox_messages_published_total', { topic: good })).toBe(3)
    expect(sampleValue(samples, 'txbox_messages_published_total', { topic: bad })).toBeUndefined()
    expect(sampleValue(samples, 'txbox_messages_failed_total', { topic: bad })).toBe(2)
    expect(sampleValue(samples, 'txbox_messages_dead_lettered_total', { topic: bad })).toBe(2)
    expect(sampleValue(samples, 'txbox_outbox_backlog_messages')).toBe(0)
    expect(sampleValue(samples, 'txbox_outbox_oldest_message_age_seconds')).toBe(0)
    expect(sampleValue(samples, 'txbox_outbox_dead_letters')).toBe(2)
    expect(sampleValue(samples, 'txbox_relay_running')).toBe(1)
    expect(sampleValue(samples, 'txbox_relay_batch_messages_sum')).toBe(3 + 2 * 2) // the failing ones claimed twice
    const batches = sampleValue(samples, 'txbox_relay_batch_messages_count') ?? 0
    expect(batches).toBeGreaterThanOrEqual(2)
    expect(sampleValue(samples, 'txbox_relay_publish_duration_seconds_count')).toBe(batches)
    expect(sampleValue(samples, 'txbox_relay_claim_duration_seconds_count')).toBeGreaterThanOrEqual(batches)
    expect(samples.filter((s) => s.name === 'txbox_relay_errors_total')).toEqual([])

    const base = url.replace(/\/metrics$/, '')
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual(expect.objectContaining({ ok: true, checks: expect.objectContaining({ database: expect.objectContaining({ ok: true }) }) }))
  } finally {
    relay.kill('SIGTERM')
  }
  expect((await relay.exited).code).toBe(0)
})
