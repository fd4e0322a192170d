import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRelay, enqueueOnCommit, migrate, type Relay, silentLogger, withTransaction } from '@txbox/core'
import { monitoringHandler, relayHealth, relayMetrics } from '@txbox/prometheus'
import { parsePrometheusText, recordingPublisher, sampleValue, useTestDatabase, waitFor } from '@txbox/testing'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, expect, test } from 'vitest'

// relayMetrics, relayHealth and monitoringHandler on a real relay and a real
// database, served by a plain Node http server, scraped over HTTP.
const t = useTestDatabase('prommetrics')
const publisher = recordingPublisher()
let relay: Relay
let server: Server
let base: string
let closeAll: () => void

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  // No retry delay: a failing message spends its two attempts at once.
  relay = createRelay({ db: t.db, publisher, schema: t.schema, maxAttempts: 2, backoff: () => 0, pollInterval: 20, logger: silentLogger })
  const metrics = relayMetrics(relay)
  const health = relayHealth(relay, { db: t.db, maxCycleAgeMs: 5_000 })
  closeAll = () => {
    metrics.close()
    health.close()
  }
  server = createServer(monitoringHandler({ registry: metrics.registry, health }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await relay.stop()
  closeAll()
  await new Promise((resolve) => server.close(resolve))
})

async function scrape() {
  const response = await fetch(`${base}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(await response.text())
}

async function get(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`)
  return { status: response.status, body: await response.json() }
}

function enqueue(topic: string, count: number) {
  return withTransaction(t.db, (trx) =>
    enqueueOnCommit(trx, Array.from({ length: count }, (_, n) => ({ topic, payload: { n } })), { schema: t.schema }),
  )
}

test('the metrics count publishes, failures and dead letters by topic, and the outbox gauges read the database', async () => {
  expect((await get('/healthz')).status).toBe(503) // not started
  publisher.failWhen((m) => (m.topic === 'bad' ? new Error('refused') : undefined))
  await enqueue('good', 3)
  await enqueue('bad', 2)
  await enqueue('other', 1)
  await relay.start()
  await waitFor(async () => (await relay.metrics()).dead === 2 && (await relay.metrics()).backlog === 0, { timeoutMs: 10_000, message: 'two dead letters, empty outbox' })

  const samples = await scrape()
  expect(sampleValue(samples, 'txbox_messages_published_total', { topic: 'good' })).toBe(3)
  expect(sampleValue(samples, 'txbox_messages_published_total', { topic: 'other' })).toBe(1)
  expect(sampleValue(samples, 'txbox_messages_published_total', { topic: 'bad' })).toBeUndefined()
  expect(sampleValue(samples, 'txbox_messages_failed_total', { topic: 'bad' })).toBe(2)
  expect(sampleValue(samples, 'txbox_messages_dead_lettered_total', { topic: 'bad' })).toBe(2)
  expect(sampleValue(samples, 'txbox_outbox_backlog_messages')).toBe(0)
  expect(sampleValue(samples, 'txbox_outbox_dead_letters')).toBe(2)
  expect(sampleValue(samples, 'txbox_outbox_oldest_message_age_seconds')).toBe(0)
  expect(sampleValue(samples, 'txbox_relay_running')).toBe(1)
  // Every message claimed once, the failing ones twice.
  expect(sampleValue(samples, 'txbox_relay_batch_messages_sum')).toBe(3 + 1 + 2 * 2)
  const batches = sampleValue(samples, 'txbox_relay_batch_messages_count') ?? 0
  expect(batches).toBeGreaterThanOrEqual(2)
  expect(sampleValue(samples, 'txbox_relay_publish_duration_seconds_count')).toBe(batches)
  expect(sampleValue(samples, 'txbox_relay_claim_duration_seconds_count')).toBeGreaterThan(batches) // empty claims too
  expect(Date.now() / 1000 - (sampleValue(samples, 'txbox_relay_last_cycle_timestamp_seconds') ?? 0)).toBeLessThan(5)
  expect(samples.filter((s) => s.name === 'txbox_relay_errors_total')).toEqual([])

  const ready = await get('/readyz')
  expect(ready).toEqual({ status: 200, body: expect.objectContaining({ ok: true }) })
  expect(Object.keys(ready.body.checks).sort()).toEqual(['broker', 'cycle', 'database', 'relay'])
  expect((await get('/healthz')).status).toBe(200)
})

test('a broker that cannot be reached counts as an error of its kind and makes the relay not ready until a batch goes through', async () => {
  publisher.failWhen(undefined)
  publisher.throwOnPublish(new Error('connection refused'))
  const unreachable = new Promise((resolve) => relay.once('unreachable', resolve))
  await enqueue('good', 1)
  await unreachable
  const samples = await scrape()
  expect(sampleValue(samples, 'txbox_relay_errors_total', { kind: 'broker-unreachable' })).toBeGreaterThanOrEqual(1)
  expect(sampleValue(samples, 'txbox_outbox_backlog_messages')).toBe(1)
  const notReady = await get('/readyz')
  expect(notReady.status).toBe(503)
  expect(notReady.body.checks.broker).toEqual({ ok: false, detail: expect.stringContaining('connection refused') })
  expect(notReady.body.checks.database.ok).toBe(true)
  expect((await get('/healthz')).status).toBe(200) // alive: a restart would not help

  publisher.throwOnPublish(undefined)
  await waitFor(async () => (await get('/readyz')).status === 200, { timeoutMs: 10_000, message: 'ready again once the broker takes a batch' })
  expect(sampleValue(await scrape(), 'txbox_messages_published_total', { topic: 'good' })).toBe(4)
})

test('relayMetrics registers on a registry of the caller, with its labels; close() unregisters and stops counting', async () => {
  const registry = new Registry()
  const metrics = relayMetrics(relay, { registry, labels: { outbox: 'orders' } })
  await enqueue('labelled', 2)
  await waitFor(async () => sampleValue(parsePrometheusText(await registry.metrics()), 'txbox_messages_published_total', { topic: 'labelled' }) === 2, {
    timeoutMs: 10_000,
    message: 'two published, counted on the caller registry',
  })
  const samples = parsePrometheusText(await registry.metrics())
  expect(samples.filter((s) => s.name.startsWith('txbox_')).every((s) => s.labels.outbox === 'orders')).toBe(true)
  metrics.close()
  metrics.close()
  expect(await registry.metrics()).toBe('\n')
  expect(relay.listenerCount('published')).toBe(1) // the file's own collector only
})

test('other paths: 404 from a plain server', async () => {
  const response = await fetch(`${base}/nothing`)
  expect(response.status).toBe(404)
  expect(await response.text()).toMatch(/\/metrics/)
})
