// consumeNats against the real JetStream: a message is acknowledged only
// after its handler succeeded; a failed, timed-out or crashed delivery comes
// back; after maxDeliveries it is published to the dead-letter subject and
// terminated; wrap runs processOnce around the handler; stop() is graceful
// and bounded.
import { migrate, type OutboxMessage, processOnce } from '@txbox/core'
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream'
import { connect, headers } from '@nats-io/transport-node'
import { consumeNats, type NatsConsumer, type NatsMessage, NatsConsumerStartError, natsPublisher } from '@txbox/nats'
import { uniqueName, useTestDatabase, waitFor, waitForValue } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { asReceived, natsUrl, openTestNats, readStream, type TestNats } from './nats-test-streams.js'
import { recordingLogger } from './recording-logger.js'

const t = useTestDatabase('nats_consumer', { poolSize: 2 })
const stream = uniqueName('nats_cons')
const deadStream = `${stream}_dead`
let nats: TestNats
let seq = 0
const running: NatsConsumer[] = []

beforeAll(async () => {
  nats = await openTestNats('txbox-consumer-test')
  await nats.addStream({ name: stream, subjects: [`${stream}.>`] })
  // Where every consumer's dead letters go by default: txbox.dead.<stream>.<durable>.
  await nats.addStream({ name: deadStream, subjects: [`txbox.dead.${stream}.>`] })
  await migrate(t.db, { schema: t.schema })
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()))
})
afterAll(async () => {
  await nats?.close()
})

/** A subject and durable name of the test's own. */
function lane(name: string) {
  return { subject: `${stream}.${name}`, durable: `d_${name}` }
}

function message(subject: string, overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  seq++
  return {
    id: String(seq),
    messageId: `${stream}-m${seq}`,
    topic: subject,
    key: null,
    payload: JSON.stringify({ n: seq }),
    headers: {},
    attempts: 0,
    createdAt: new Date(),
    ...overrides,
  }
}

async function publish(...messages: OutboxMessage[]): Promise<void> {
  const results = await natsPublisher({ connection: nats.nc }).publish(messages, { signal: AbortSignal.timeout(10_000) })
  expect(results.every((r) => r.ok)).toBe(true)
}

async function consume<T>(options: Omit<Parameters<typeof consumeNats<T>>[0], 'connection' | 'stream'>): Promise<NatsConsumer> {
  // Short pull requests: stop() waits for the one in progress to end.
  const consumer = await consumeNats<T>({ connection: nats.nc, stream, fetchWaitMs: 1000, logger: recordingLogger(), ...options })
  running.push(consumer)
  return consumer
}

const consumerInfo = (durable: string) => nats.jsm.consumers.info(stream, durable)

/** The durable consumer as consumeNats makes it, for tests that take messages by hand first (a process that dies). */
async function addDurable(durable: string, subject: string, ackWaitMs: number): Promise<void> {
  await nats.jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ackWaitMs * 1_000_000,
    max_deliver: -1,
    filter_subject: subject,
  })
}

/** Takes one message on its own connection without acknowledging it, then closes that connection: a consumer process that died mid-handler. */
async function takeAndDie(durable: string): Promise<void> {
  const nc = await connect({ servers: natsUrl })
  const { jetstream } = await import('@nats-io/jetstream')
  const m = await (await jetstream(nc).consumers.get(stream, durable)).next({ expires: 5000 })
  expect(m).not.toBeNull()
  await nc.close()
}

const deadLetters = (durable: string) => readStream(nats.jsm, deadStream, `txbox.dead.${stream}.${durable}`)

describe('acknowledgement', () => {
  test('a message is acknowledged only after its handler resolved, and arrives decoded', async () => {
    const { subject, durable } = lane('ack')
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const seen: NatsMessage<{ n: number }>[] = []
    await consume<{ n: number }>({
      durable,
      filterSubject: subject,
      handler: async (m) => {
        seen.push(m)
        await gate
      },
    })
    const m = message(subject, { key: 'user:1', headers: { 'x-tenant': 'acme' } })
    await publish(m)
    await waitFor(() => seen.length === 1, { message: 'handler called' })
    expect((await consumerInfo(durable)).num_ack_pending).toBe(1)
    release()
    await waitFor(async () => (await consumerInfo(durable)).num_ack_pending === 0, { message: 'acked' })
    expect(seen[0]).toMatchObject({
      messageId: m.messageId,
      topic: subject,
      key: 'user:1',
      payload: JSON.parse(m.payload),
      headers: { 'x-tenant': 'acme' },
      subject,
      stream,
      deliveries: 1,
    })
    expect((await consumerInfo(durable)).num_pending).toBe(0)
  })

  test('a handler that throws has its message delivered again after retryDelayMs, and acknowledged once it succeeds', async () => {
    const { subject, durable } = lane('retry')
    const logger = recordingLogger()
    const deliveries: number[] = []
    await consume({
      durable,
      filterSubject: subject,
      retryDelayMs: 50,
      logger,
      handler: async (m) => {
        deliveries.push(m.deliveries)
        if (m.deliveries === 1) throw new Error('first try fails')
      },
    })
    await publish(message(subject))
    await waitFor(async () => deliveries.length === 2 && (await consumerInfo(durable)).num_ack_pending === 0, { message: 'retried and acked' })
    expect(deliveries).toEqual([1, 2])
    expect(logger.said('warn', 'handler failed')).toBe(true)
  })

  test('a message whose consumer process died before acking is delivered again after ackWaitMs', async () => {
    const { subject, durable } = lane('crash')
    await addDurable(durable, subject, 1000)
    const m = message(subject)
    await publish(m)
    await takeAndDie(durable)
    const seen: NatsMessage[] = []
    await consume({ durable, filterSubject: subject, ackWaitMs: 1000, handler: async (got) => void seen.push(got) })
    await waitFor(async () => seen.length === 1 && (await consumerInfo(durable)).num_ack_pending === 0, { timeoutMs: 10_000, message: 'redelivered and acked' })
    expect(seen[0]).toMatchObject({ messageId: m.messageId, deliveries: 2 })
  })

  test('while a slow handler runs, the messages in hand are not handed to another process (in-progress acks)', async () => {
    const { subject, durable } = lane('slow')
    const handled: string[] = []
    const slowHandler = async (m: NatsMessage) => {
      handled.push(m.messageId)
      // Pacing of the scenario: each handler outlives the 600 ms ack wait twice over.
      await new Promise((resolve) => setTimeout(resolve, 1300))
    }
    await consume({ durable, filterSubject: subject, ackWaitMs: 600, handlerTimeoutMs: 5000, handler: slowHandler })
    const batch = [message(subject), message(subject)]
    await publish(...batch)
    await waitFor(() => handled.length === 1, { message: 'first handler started' })
    // A second process on the same durable: it would get the messages if JetStream thought them abandoned.
    await consume({ durable, filterSubject: subject, ackWaitMs: 600, handlerTimeoutMs: 5000, handler: slowHandler })
    await waitFor(async () => (await consumerInfo(durable)).num_ack_pending === 0 && handled.length >= 2, { timeoutMs: 10_000, message: 'both handled' })
    expect(handled).toEqual(batch.map((m) => m.messageId))
    expect((await consumerInfo(durable)).num_redelivered).toBe(0)
  })
})

describe('dead letters', () => {
  test('after maxDeliveries failed deliveries the message is published to the dead-letter subject and terminated', async () => {
    const { subject, durable } = lane('dead')
    const logger = recordingLogger()
    let calls = 0
    await consume({
      durable,
      filterSubject: subject,
      maxDeliveries: 2,
      retryDelayMs: 50,
      logger,
      handler: async () => {
        calls++
        throw new Error(`fails every time\r\n(call ${calls})`)
      },
    })
    const m = message(subject, { key: 'k1', headers: { 'x-tenant': 'acme' } })
    await publish(m)
    const [dead] = await waitForValue(() => deadLetters(durable), (d) => d.length === 1, { message: 'dead letter' })
    await waitFor(async () => (await consumerInfo(durable)).num_ack_pending === 0, { message: 'terminated' })
    expect(calls).toBe(2)
    const h = dead?.headers
    expect(asReceived(dead as NonNullable<typeof dead>)).toMatchObject({ topic: subject, key: 'k1', payload: JSON.parse(m.payload), headers: expect.objectContaining({ 'x-tenant': 'acme' }) })
    expect({
      id: h?.get('Nats-Msg-Id'),
      messageId: h?.get('txbox-dead-message-id'),
      stream: h?.get('txbox-dead-stream'),
      subject: h?.get('txbox-dead-subject'),
      durable: h?.get('txbox-dead-durable'),
      deliveries: h?.get('txbox-dead-deliveries'),
      error: h?.get('txbox-dead-error'),
    }).toEqual({
      id: `dead:${stream}:${h?.get('txbox-dead-sequence')}`,
      messageId: m.messageId,
      stream,
      subject,
      durable,
      deliveries: '2',
      error: 'fails every time (call 2)',
    })
    expect(logger.said('warn', 'moved to the dead-letter subject')).toBe(true)
    expect((await consumerInfo(durable)).num_pending).toBe(0)
  })

  test('a message delivered more than maxDeliveries times without an answer (its handler crashed the process) goes there without running the handler', async () => {
    const { subject, durable } = lane('crashloop')
    await addDurable(durable, subject, 1000)
    const m = message(subject)
    await publish(m)
    await takeAndDie(durable)
    let calls = 0
    await consume({ durable, filterSubject: subject, ackWaitMs: 1000, maxDeliveries: 1, handler: async () => void calls++ })
    const [dead] = await waitForValue(() => deadLetters(durable), (d) => d.length === 1, { message: 'dead letter' })
    expect(calls).toBe(0)
    expect(dead?.headers?.get('txbox-dead-error')).toMatch(/delivered 2 times without being acknowledged/)
  })

  test('a message that cannot be read (no Nats-Msg-Id, a body that is not JSON) goes there at once', async () => {
    const { subject, durable } = lane('undecodable')
    let calls = 0
    await consume({ durable, filterSubject: subject, handler: async () => void calls++ })
    const withId = headers()
    withId.set('Nats-Msg-Id', `${stream}-notjson`)
    await nats.js.publish(subject, 'not json', { headers: withId })
    await nats.js.publish(subject, JSON.stringify({ no: 'id' }))
    const dead = await waitForValue(() => deadLetters(durable), (d) => d.length === 2, { message: 'two dead letters' })
    expect(calls).toBe(0)
    expect(dead.map((d) => d.headers?.get('txbox-dead-error'))).toEqual([expect.stringMatching(/body is not JSON/), expect.stringMatching(/no Nats-Msg-Id header/)])
  })

  test('a dead letter that no stream takes is not lost: the message stays and is tried again, loudly', async () => {
    const { subject, durable } = lane('nodlq')
    const logger = recordingLogger()
    await consume({
      durable,
      filterSubject: subject,
      maxDeliveries: 1,
      retryDelayMs: 50,
      deadLetterSubject: `${uniqueName('nowhere')}.dead`,
      logger,
      handler: async () => {
        throw new Error('fails')
      },
    })
    expect(logger.said('warn', 'no stream captures the dead-letter subject')).toBe(true)
    await publish(message(subject))
    await waitFor(() => logger.lines.filter((l) => l.message.includes('publishing a dead letter failed')).length >= 2, { message: 'dead letter retried' })
    // Not terminated: still in the consumer's hands.
    const info = await consumerInfo(durable)
    expect(info.num_ack_pending + info.num_pending).toBe(1)
  })
})

describe('wrap and timeouts', () => {
  test('wrap runs the handler inside processOnce: a message processed before is skipped and acknowledged', async () => {
    const { subject, durable } = lane('inbox')
    const before = message(subject)
    const fresh = message(subject)
    // As if an earlier delivery had been processed and its ack lost.
    await processOnce(t.db, before.messageId, async () => {}, { schema: t.schema })
    const handled: string[] = []
    await consume({
      durable,
      filterSubject: subject,
      wrap: (m, run) => processOnce(t.db, m.messageId, run, { schema: t.schema }),
      handler: async (m) => void handled.push(m.messageId),
    })
    await publish(before, fresh)
    await waitFor(async () => (await consumerInfo(durable)).num_ack_pending === 0 && (await consumerInfo(durable)).num_pending === 0 && handled.length === 1, {
      message: 'both acked',
    })
    expect(handled).toEqual([fresh.messageId])
    const { rows } = await sql<{ count: string }>`select count(*) from ${sql.id(t.schema, 'inbox')}`.execute(t.db)
    expect(Number(rows[0]?.count)).toBe(2)
  })

  test('a handler that outlives handlerTimeoutMs has its signal aborted, and its message is delivered again', async () => {
    const { subject, durable } = lane('timeout')
    const logger = recordingLogger()
    const deliveries: number[] = []
    await consume({
      durable,
      filterSubject: subject,
      handlerTimeoutMs: 200,
      retryDelayMs: 50,
      logger,
      handler: (m, { signal }) => {
        deliveries.push(m.deliveries)
        if (m.deliveries > 1) return Promise.resolve()
        // Hangs until told to give up.
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
      },
    })
    await publish(message(subject))
    await waitFor(async () => deliveries.length === 2 && (await consumerInfo(durable)).num_ack_pending === 0, { message: 'retried after the timeout' })
    expect(logger.said('warn', 'did not settle within handlerTimeoutMs')).toBe(true)
  })
})

describe('stop()', () => {
  test('the handler in flight finishes and is acknowledged; messages pulled but not started go back at once', async () => {
    const { subject, durable } = lane('stop')
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const first: string[] = []
    const consumer = await consume({
      durable,
      filterSubject: subject,
      count: 5,
      handler: async (m) => {
        first.push(m.messageId)
        await gate
      },
    })
    const batch = [message(subject), message(subject), message(subject)]
    await publish(...batch)
    await waitFor(() => first.length === 1, { message: 'first handler started' })
    const stopping = consumer.stop()
    release()
    await stopping
    expect(first).toEqual([batch[0]?.messageId])
    // The other two were handed back: a new process gets them now, not after the 30 s ack wait.
    const handedBackAt = Date.now()
    const second: string[] = []
    await consume({ durable, filterSubject: subject, handler: async (m) => void second.push(m.messageId) })
    await waitFor(async () => second.length === 2 && (await consumerInfo(durable)).num_ack_pending === 0, { timeoutMs: 8000, message: 'the rest handled' })
    expect(second).toEqual([batch[1]?.messageId, batch[2]?.messageId])
    expect(Date.now() - handedBackAt).toBeLessThan(5000)
  })

  test('is bounded: a handler that never settles is left behind after handlerTimeoutMs; stop() is idempotent and leaves the connection open', async () => {
    const { subject, durable } = lane('stophang')
    const consumer = await consume({ durable, filterSubject: subject, handlerTimeoutMs: 300, fetchWaitMs: 1000, handler: () => new Promise(() => {}) })
    await publish(message(subject))
    await waitFor(async () => (await consumerInfo(durable)).num_ack_pending === 1, { message: 'in flight' })
    const started = Date.now()
    await consumer.stop()
    await consumer.stop()
    // handlerTimeoutMs, then the pull request's end (fetchWaitMs), and some slack for a loaded machine.
    expect(Date.now() - started).toBeLessThan(300 + 1000 + 1500)
    expect(nats.nc.isClosed()).toBe(false)
  })
})

describe('start', () => {
  test('a missing stream is a start error that says so', async () => {
    await expect(consumeNats({ connection: nats.nc, stream: uniqueName('nostream'), durable: 'd', handler: async () => {} })).rejects.toThrow(
      /stream does not exist/,
    )
  })

  test('a dead-letter subject this consumer would read back is a start error', async () => {
    await expect(
      consumeNats({ connection: nats.nc, stream, durable: 'd_loop', deadLetterSubject: `${stream}.dead`, handler: async () => {} }),
    ).rejects.toThrow(NatsConsumerStartError)
  })

  test('an existing push consumer of that name is a start error', async () => {
    const durable = 'd_push'
    await nats.jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_subject: `${stream}_push_inbox` })
    await expect(consumeNats({ connection: nats.nc, stream, durable, handler: async () => {} })).rejects.toThrow(/push consumer/)
  })

  test('an existing consumer gets the ack wait asked for, and no server-side delivery limit', async () => {
    const { subject, durable } = lane('existing')
    await nats.jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: subject, max_deliver: 3 })
    await consume({ durable, filterSubject: subject, ackWaitMs: 4000, handler: async () => {} })
    const { config } = await consumerInfo(durable)
    expect({ ackWait: config.ack_wait, maxDeliver: config.max_deliver }).toEqual({ ackWait: 4_000_000_000, maxDeliver: -1 })
  })

  test('bad options are refused with a typed error naming the option', async () => {
    const base = { connection: nats.nc, stream, durable: 'd', handler: async () => {} }
    await expect(consumeNats({ ...base, durable: 'a.b' })).rejects.toThrow(/durable "a.b" is not a JetStream name/)
    await expect(consumeNats({ ...base, fetchWaitMs: 10 })).rejects.toThrow(/fetchWaitMs must be an integer from 1000/)
    await expect(consumeNats({ ...base, deadLetterSubject: 'x.*' })).rejects.toThrow(/wildcard/)
    await expect(consumeNats({ ...base, maxDeliver: 3 } as never)).rejects.toThrow(/unknown option "maxDeliver"/)
    await expect(consumeNats({ ...base, handler: undefined as never })).rejects.toThrow(/handler must be a function/)
  })

  test('with no logger given, failures go to the console (consoleLogger)', async () => {
    const { subject, durable } = lane('console')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const consumer = await consumeNats({
        connection: nats.nc,
        stream,
        durable,
        filterSubject: subject,
        retryDelayMs: 5000,
        handler: async () => {
          throw new Error('boom')
        },
      })
      running.push(consumer)
      await publish(message(subject))
      await waitFor(() => warn.mock.calls.some(([text]) => String(text).includes('txbox nats consumer: handler failed')), { message: 'console.warn' })
    } finally {
      warn.mockRestore()
    }
  })
})
