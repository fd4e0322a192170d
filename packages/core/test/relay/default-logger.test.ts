import { createRelay, enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase } from '@txbox/testing'
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest'

// A relay given no `logger` must not fail silently: its failures reach the
// console (warnings and errors), its routine (debug, info) does not.

const t = useTestDatabase('relay_default_logger')
const relayDb = separatePool(t, 'relay_default_logger_relay', 2)

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
})
afterEach(() => {
  vi.restoreAllMocks()
})
afterAll(async () => {
  await relayDb.close()
})

test('with no logger given, a failed publish and a dead letter are written to the console, and a published message is not', async () => {
  const lines: string[] = []
  const record = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '))
  }
  vi.spyOn(console, 'warn').mockImplementation(record)
  vi.spyOn(console, 'error').mockImplementation(record)
  vi.spyOn(console, 'info').mockImplementation(record)
  vi.spyOn(console, 'log').mockImplementation(record)
  vi.spyOn(console, 'debug').mockImplementation(record)

  await withTransaction(t.db, (trx) =>
    enqueueOnCommit(
      trx,
      [
        { topic: 'mail', key: 'ok', payload: { n: 1 }, messageId: 'fine-1' },
        { topic: 'mail', key: 'bad', payload: { n: 2 }, messageId: 'refused-1' },
      ],
      { schema: t.schema },
    ),
  )
  const publisher = recordingPublisher()
  publisher.failWhen((m) => (m.messageId === 'refused-1' ? new Error('the broker said no to refused-1') : undefined))
  const relay = createRelay({ db: relayDb.db, publisher, schema: t.schema, maxAttempts: 1 })
  await relay.runOnce()

  expect(publisher.confirmed.map((m) => m.messageId)).toEqual(['fine-1'])
  const aboutRefused = lines.filter((line) => line.includes('refused-1'))
  expect(aboutRefused.length).toBeGreaterThan(0)
  expect(aboutRefused.join('\n')).toContain('the broker said no to refused-1')
  expect(lines.filter((line) => line.includes('fine-1'))).toEqual([])
})
