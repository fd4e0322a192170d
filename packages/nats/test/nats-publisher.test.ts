// What natsPublisher promises per message, against the real JetStream: a
// repeat inside the duplicate window is confirmed and not stored twice; what
// NATS can never carry is refused before sending, for good, that message
// alone; a stream that refuses spends an attempt; NATS not reachable (closed
// connection, no PubAck in time, the relay giving up) spends none.
import type { OutboxMessage, PublishResult } from '@txbox/core'
import { InvalidOptionError } from '@txbox/core'
import { DiscardPolicy } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { NatsPublishError, natsPublisher } from '@txbox/nats'
import { uniqueName } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startTcpProxy } from '../../../test/support/tcp-proxy.js'
import { asReceived, natsUrl, openTestNats, readStream, type TestNats } from './nats-test-streams.js'

const stream = uniqueName('nats_pub')
const base = stream
let nats: TestNats
let seq = 0

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  seq++
  return {
    id: String(seq),
    messageId: `${stream}-m${seq}`,
    topic: `${base}.ok`,
    key: null,
    payload: JSON.stringify({ n: seq }),
    headers: {},
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  }
}

const signal = () => AbortSignal.timeout(10_000)

/** What each result says: published, refused for good, failed spending an attempt, or failed in transport (no attempt). */
function outcome(result: PublishResult | undefined): string {
  if (result === undefined) return 'missing'
  if (result.ok) return 'ok'
  const reason = result.error instanceof NatsPublishError ? result.error.reason : `not a NatsPublishError: ${result.error.message}`
  if (result.permanent === true) return `permanent ${reason}`
  if (result.transport === true) return `transport ${reason}`
  return `retry ${reason}`
}

const storedIds = async (subject?: string) => (await readStream(nats.jsm, stream, subject)).map((c) => asReceived(c).messageId)

beforeAll(async () => {
  nats = await openTestNats('txbox-publisher-test')
  await nats.addStream({ name: stream, subjects: [`${base}.>`], duplicate_window: 60_000_000_000 })
})
afterAll(async () => {
  await nats?.close()
})

describe('effectively once into the stream', () => {
  test('a batch published again inside the duplicate window is confirmed, and the stream holds each message once', async () => {
    const publisher = natsPublisher({ connection: nats.nc })
    const subject = `${base}.again`
    const batch = Array.from({ length: 5 }, () => message({ topic: subject }))
    expect((await publisher.publish(batch, { signal: signal() })).map(outcome)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
    // As after a relay crash between publish and commit: the same rows, the same message ids.
    expect((await publisher.publish(batch, { signal: signal() })).map(outcome)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
    expect(await storedIds(subject)).toEqual(batch.map((m) => m.messageId))
  })

  test('the subject option: a fixed subject, or a function of the message', async () => {
    const fixed = natsPublisher({ connection: nats.nc, subject: `${base}.fixed` })
    const byKey = natsPublisher({ connection: nats.nc, subject: (m) => `${base}.bykey.${m.key}` })
    const a = message({ topic: 'orders' })
    const b = message({ topic: 'orders', key: 'k7' })
    expect((await fixed.publish([a], { signal: signal() })).map(outcome)).toEqual(['ok'])
    expect((await byKey.publish([b], { signal: signal() })).map(outcome)).toEqual(['ok'])
    const [gotA] = (await readStream(nats.jsm, stream, `${base}.fixed`)).map(asReceived)
    expect(gotA).toMatchObject({ messageId: a.messageId, topic: 'orders', key: null })
    expect((await readStream(nats.jsm, stream, `${base}.bykey.k7`)).map(asReceived)).toMatchObject([{ messageId: b.messageId, topic: 'orders', key: 'k7' }])
  })
})

describe('per-message failures', () => {
  test('no stream captures the subject: that message fails alone, spending an attempt (not permanent, not transport)', async () => {
    const publisher = natsPublisher({ connection: nats.nc })
    const batch = [message(), message({ topic: `${uniqueName('nowhere')}.x` }), message()]
    const results = await publisher.publish(batch, { signal: signal() })
    expect(results.map(outcome)).toEqual(['ok', 'retry no-stream', 'ok'])
    expect((results[1] as { error: Error }).error.message).toMatch(/Create a stream whose subjects capture it/)
  })

  test('a stream that refuses (full, discard new) fails that message, spending an attempt, with the JetStream error as cause', async () => {
    const full = uniqueName('nats_full')
    await nats.addStream({ name: full, subjects: [`${full}.>`], max_msgs: 1, discard: DiscardPolicy.New })
    const publisher = natsPublisher({ connection: nats.nc })
    const results = await publisher.publish([message({ topic: `${full}.a` }), message({ topic: `${full}.a` }), message()], { signal: signal() })
    expect(results.map(outcome)).toEqual(['ok', 'retry refused', 'ok'])
    const error = (results[1] as { error: NatsPublishError }).error
    expect((error.cause as { code?: number }).code).toBeTypeOf('number')
  })

  test('a subject function that throws fails that message alone, for a retry', async () => {
    const publisher = natsPublisher({
      connection: nats.nc,
      subject: (m) => {
        if (m.key === 'bad') throw new Error('no route for bad')
        return m.topic
      },
    })
    const results = await publisher.publish([message(), message({ key: 'bad' }), message()], { signal: signal() })
    expect(results.map(outcome)).toEqual(['ok', 'retry subject-function', 'ok'])
  })
})

describe('what NATS can never carry is refused before sending, that message alone, for good', () => {
  const cases: [string, Partial<OutboxMessage>][] = [
    ['a subject with a space', { topic: `${base}.with space` }],
    ['a subject with an empty token', { topic: `${base}..x` }],
    ['a subject ending with a dot', { topic: `${base}.x.` }],
    ['a wildcard token', { topic: `${base}.*` }],
    ['a full wildcard token', { topic: `${base}.>` }],
    ['a JetStream API subject', { topic: `$JS.API.STREAM.DELETE.${stream}` }],
    ['a subject longer than the control line holds', { topic: `${base}.${'y'.repeat(4100)}` }],
    ['a header name with a colon', { headers: { 'x:y': 'v' } }],
    ['a header name with a space', { headers: { 'x y': 'v' } }],
    ['a header name outside ASCII', { headers: { 'x-naïve': 'v' } }],
    ['an empty header name', { headers: { '': 'v' } }],
    ['a header value with a line break', { headers: { 'x-a': 'one\r\nNats-Rollup: all' } }],
    ['a header value NATS would trim', { headers: { 'x-a': ' padded ' } }],
    ['a header JetStream acts on', { headers: { 'Nats-Rollup': 'all' } }],
    ['a Nats-Msg-Id of its own', { headers: { 'nats-msg-id': 'other' } }],
    ['a header value that is not a string', { headers: { 'x-n': 42 as unknown as string } }],
    ['a key with a line break', { key: 'k\n1' }],
    ['a payload over max_payload', { payload: JSON.stringify({ big: 'x'.repeat(1_100_000) }) }],
  ]

  test.each(cases)('%s', async (_, bad) => {
    const publisher = natsPublisher({ connection: nats.nc })
    const subject = `${base}.limits.${seq + 1}`
    const before = message({ topic: subject })
    const refused = message(bad)
    const after = message({ topic: subject })
    const results = await publisher.publish([before, refused, after], { signal: signal() })
    expect(results.map(outcome)).toEqual(['ok', 'permanent unpublishable', 'ok'])
    expect((results[1] as { error: Error }).error.message).toMatch(/It was not sent and is not retried/)
    // Nothing reached the server that could close the connection under the messages in flight.
    expect(nats.nc.isClosed()).toBe(false)
    expect(await storedIds(subject)).toEqual([before.messageId, after.messageId])
  })

  test('the longest subject it takes is carried without the server closing the connection', async () => {
    const publisher = natsPublisher({ connection: nats.nc })
    const subject = `${base}.${'z'.repeat(3840 - base.length - 1)}`
    expect(Buffer.byteLength(subject)).toBe(3840)
    const [result] = await publisher.publish([message({ topic: subject })], { signal: signal() })
    expect(outcome(result)).toBe('ok')
  })

  test('headers NATS can carry arrive unchanged: case, UTF-8 values, empty values', async () => {
    const publisher = natsPublisher({ connection: nats.nc })
    const subject = `${base}.headers`
    const m = message({ topic: subject, key: 'Zoë:1', headers: { 'x-lower': 'a', 'X-Mixed-Case': 'Zoë ✓', empty: '', 'txbox-key': 'spoofed' } })
    expect((await publisher.publish([m], { signal: signal() })).map(outcome)).toEqual(['ok'])
    const [got] = (await readStream(nats.jsm, stream, subject)).map(asReceived)
    expect(got).toEqual({ messageId: m.messageId, topic: subject, key: 'Zoë:1', payload: JSON.parse(m.payload), headers: { 'x-lower': 'a', 'X-Mixed-Case': 'Zoë ✓', empty: '' } })
  })
})

describe('NATS not reached: transport failures, no attempt spent', () => {
  test('a closed connection fails every message of the call as a transport failure', async () => {
    const nc = await connect({ servers: natsUrl })
    const publisher = natsPublisher({ connection: nc })
    await nc.close()
    const results = await publisher.publish([message(), message()], { signal: signal() })
    expect(results.map(outcome)).toEqual(['transport connection', 'transport connection'])
  })

  test('no PubAck within ackTimeoutMs (NATS stalled) is a transport timeout; the retry after it is not stored twice', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(natsUrl).port || 4222) })
    const nc = await connect({ servers: `127.0.0.1:${proxy.port}` })
    try {
      const publisher = natsPublisher({ connection: nc, ackTimeoutMs: 300 })
      const subject = `${base}.stalled`
      const batch = [message({ topic: subject }), message({ topic: subject })]
      proxy.stall()
      expect((await publisher.publish(batch, { signal: signal() })).map(outcome)).toEqual(['transport timeout', 'transport timeout'])
      proxy.resume()
      // The relay retries the same rows; what the stalled call stored meanwhile is dropped as a duplicate.
      expect((await publisher.publish(batch, { signal: signal() })).map(outcome)).toEqual(['ok', 'ok'])
      expect(await storedIds(subject)).toEqual(batch.map((m) => m.messageId))
    } finally {
      await nc.close()
      await proxy.close()
    }
  })

  test('the relay giving up on the call (its publish timeout) fails what is unconfirmed as transport, at once', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(natsUrl).port || 4222) })
    const nc = await connect({ servers: `127.0.0.1:${proxy.port}` })
    try {
      const publisher = natsPublisher({ connection: nc, ackTimeoutMs: 60_000 })
      proxy.stall()
      const started = Date.now()
      const results = await publisher.publish([message(), message()], { signal: AbortSignal.timeout(200) })
      expect(results.map(outcome)).toEqual(['transport aborted', 'transport aborted'])
      expect(Date.now() - started).toBeLessThan(5000)
      proxy.resume()
    } finally {
      await nc.close()
      await proxy.close()
    }
  })
})

describe('options', () => {
  test('bad options are refused at creation with a typed error', () => {
    expect(() => natsPublisher({ connection: {} as never })).toThrow(InvalidOptionError)
    expect(() => natsPublisher({ connection: nats.nc, subject: 'a b' })).toThrow(/cannot be published to: it contains whitespace/)
    expect(() => natsPublisher({ connection: nats.nc, subject: 'orders.*' })).toThrow(InvalidOptionError)
    expect(() => natsPublisher({ connection: nats.nc, ackTimeoutMs: 0 })).toThrow(InvalidOptionError)
    expect(() => natsPublisher({ connection: nats.nc, stream: 'x' } as never)).toThrow(/unknown option "stream"/)
  })

  test('does not declare stopsKeyOnFailure (independent publishes): the relay sends per-key waves', () => {
    expect(natsPublisher({ connection: nats.nc }).stopsKeyOnFailure).toBeUndefined()
  })

  test('close() leaves the connection open: it belongs to the caller', async () => {
    const publisher = natsPublisher({ connection: nats.nc })
    await publisher.close?.()
    await publisher.close?.()
    expect(nats.nc.isClosed()).toBe(false)
  })
})
