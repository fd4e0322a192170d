// The broker descriptor `txbox relay --broker-url nats://…` will use: it
// opens a connection and a publisher, and fails fast, saying what to check,
// when it cannot (NATS unreachable, credentials refused, no JetStream, no
// stream for the subject flag).
import { InvalidOptionError, type OutboxMessage, silentLogger } from '@txbox/core'
import { broker, NatsConnectError } from '@txbox/nats'
import { uniqueName } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { asReceived, natsUrl, openTestNats, readStream, type TestNats } from './nats-test-streams.js'
import { freePort, type OwnNatsServer, startOwnNatsServer } from './own-nats-server.js'

const stream = uniqueName('nats_broker')
let nats: TestNats
let secured: OwnNatsServer

const noFlags = { flags: {}, logger: silentLogger }

function message(topic: string): OutboxMessage {
  return { id: '1', messageId: uniqueName('m'), topic, key: null, payload: '{"n":1}', headers: {}, attempts: 0, createdAt: new Date() }
}

beforeAll(async () => {
  nats = await openTestNats('txbox-broker-test')
  await nats.addStream({ name: stream, subjects: [`${stream}.>`] })
  // Credentials, and no JetStream.
  secured = await startOwnNatsServer(['--user', 'txbox', '--pass', 'sesame'])
})
afterAll(async () => {
  await secured?.close()
  await nats?.close()
})

describe('broker', () => {
  test('describes itself for the CLI: name, nats: URLs, the install line, its flags', () => {
    expect(broker).toMatchObject({ name: 'nats', schemes: ['nats:'], install: 'npm install @txbox/nats @nats-io/transport-node @nats-io/jetstream' })
    expect(Object.keys(broker.flags)).toEqual(['subject'])
  })

  test('opens a publisher on a connection of its own, and close() releases it', async () => {
    const opened = await broker.open(natsUrl, noFlags)
    try {
      const m = message(`${stream}.opened`)
      const [result] = await opened.publisher.publish([m], { signal: AbortSignal.timeout(10_000) })
      expect(result?.ok).toBe(true)
      expect((await readStream(nats.jsm, stream, `${stream}.opened`)).map((c) => asReceived(c).messageId)).toEqual([m.messageId])
    } finally {
      await opened.close()
    }
  })

  test('the subject flag: every message goes there, and a stream must capture it at open', async () => {
    const opened = await broker.open(natsUrl, { flags: { subject: `${stream}.fixed` }, logger: silentLogger })
    try {
      const m = message('orders')
      expect((await opened.publisher.publish([m], { signal: AbortSignal.timeout(10_000) }))[0]?.ok).toBe(true)
      expect((await readStream(nats.jsm, stream, `${stream}.fixed`)).map((c) => asReceived(c))).toMatchObject([{ messageId: m.messageId, topic: 'orders' }])
    } finally {
      await opened.close()
    }
    await expect(broker.open(natsUrl, { flags: { subject: `${uniqueName('nostream')}.x` }, logger: silentLogger })).rejects.toThrow(
      /no JetStream stream on nats:\/\/127\.0\.0\.1:\d+ captures the subject/,
    )
  })

  test('fails fast when nothing listens at the URL', async () => {
    const port = await freePort()
    const started = Date.now()
    const error = await broker.open(`nats://127.0.0.1:${port}`, noFlags).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NatsConnectError)
    expect((error as Error).message).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: .*Check the host and port/)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  test('fails fast on wrong credentials, with the password masked', async () => {
    const error = await broker.open(`nats://txbox:wrong-password@127.0.0.1:${secured.port}`, noFlags).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NatsConnectError)
    expect((error as Error).message).toContain(`nats://txbox:***@127.0.0.1:${secured.port}`)
    expect((error as Error).message).not.toContain('wrong-password')
    expect((error as Error).message).toMatch(/user and password/)
  })

  test('fails fast when the server has no JetStream', async () => {
    const error = await broker.open(`nats://txbox:sesame@127.0.0.1:${secured.port}`, noFlags).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NatsConnectError)
    expect((error as Error).message).toMatch(/JetStream does not answer .*nats-server -js/)
  })

  test('refuses what is not a NATS URL, a flag of another broker, and a subject it cannot publish to', async () => {
    await expect(broker.open('redis://127.0.0.1:6379', noFlags)).rejects.toThrow(/not a nats:\/\/ URL/)
    await expect(broker.open(natsUrl, { flags: { exchange: 'events' }, logger: silentLogger })).rejects.toThrow(InvalidOptionError)
    await expect(broker.open(natsUrl, { flags: { maxLen: 10 }, logger: silentLogger })).rejects.toThrow(/--max-len is not an option of the NATS broker/)
    await expect(broker.open(natsUrl, { flags: { subject: 'a b' }, logger: silentLogger })).rejects.toThrow(/cannot be published to/)
  })
})
