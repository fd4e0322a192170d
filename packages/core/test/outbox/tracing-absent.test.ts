import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { propagation, trace } from '@opentelemetry/api'
import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { recordingPublisher, useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { beforeAll, expect, test } from 'vitest'
import { ensureBuilt } from '../cli/cli-process.js'

// Tracing is optional: without @opentelemetry/api, or with it but no tracer
// provider or propagator registered, enqueue writes no trace headers and the
// relay and consumers run as they would without it.

const t = useTestDatabase('untraced')
const coreDir = fileURLToPath(new URL('../..', import.meta.url))

beforeAll(() => migrate(t.db, { schema: t.schema }))

test('with @opentelemetry/api installed but nothing registered, no trace headers are written and none reach the broker', async () => {
  // Nothing registered in this file: the API's no-op globals.
  expect(trace.getTracerProvider().getTracer('probe').startSpan('probe').isRecording()).toBe(false)
  expect(propagation.fields()).toEqual([])
  await trace.getTracer('app').startActiveSpan('request', (span) =>
    withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [{ topic: 'plain', payload: 1 }, { topic: 'plain', payload: 2, headers: { 'x-tenant': 'acme' } }], { schema: t.schema }),
    ).finally(() => span.end()),
  )
  const { rows } = await sql<{ headers: Record<string, string> | null }>`select headers from ${sql.id(t.schema, 'outbox')} order by id`.execute(t.db)
  expect(rows.map((r) => r.headers)).toEqual([null, { 'x-tenant': 'acme' }])
  const publisher = recordingPublisher()
  expect(await createRelay({ db: t.db, publisher, schema: t.schema }).runOnce()).toBe(2)
  expect(publisher.confirmed.map((m) => m.headers)).toEqual([{}, { 'x-tenant': 'acme' }])
})

test('without @opentelemetry/api installed, enqueue, the relay and a consumer handler call work, and write no trace headers', async () => {
  await ensureBuilt(coreDir, 'dist/index.js')
  const schema = `${t.schema}_absent`
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--require', fileURLToPath(new URL('fixtures/hide-opentelemetry.cjs', import.meta.url)), fileURLToPath(new URL('fixtures/enqueue-relay-consume.mjs', import.meta.url))],
      { env: { ...process.env, DATABASE_URL: t.url, TXBOX_SCHEMA: schema }, timeout: 60_000 },
    )
    const result = JSON.parse(stdout)
    expect(result.apiFound).toBe(false)
    expect(result.relayed).toBe(2)
    expect(result.published).toEqual([
      { messageId: result.ids[0], headers: {} },
      { messageId: result.ids[1], headers: { 'x-tenant': 'acme' } },
    ])
    expect(result.handled).toEqual({ ok: true })
  } finally {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(t.db)
  }
})
