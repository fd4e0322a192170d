import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import { jetstreamManager, StorageType } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { type SpanContext, SpanStatusCode, trace } from '@opentelemetry/api'
import { withProcessOnce, bullmqPublisher } from '@txbox/bullmq'
import { createRelay, enqueueOnCommit, InvalidMessageError, migrate, type Publisher, silentLogger, withTransaction } from '@txbox/core'
import { consumeNats, natsPublisher } from '@txbox/nats'
import { consumeRabbitmq, rabbitmqPublisher } from '@txbox/rabbitmq'
import { consumeRedisStream, redisStreamsPublisher } from '@txbox/redis'
import { recordingPublisher, serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import amqplib from 'amqplib'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { expectOneMessageTrace, postTraced, registerTracingSdk, spanNamed, startTracedServer, type TracingSdk } from './trace-fixture.js'

// One message followed from an HTTP request's span through enqueue, the relay
// and a consumer helper, with the real OpenTelemetry SDK: one trace (request →
// create → process), and the relay's send span linked to the create span,
// with the attributes of the OpenTelemetry messaging conventions.

const t = useTestDatabase('tracing')
const opts = () => ({ schema: t.schema })
let sdk: TracingSdk
let app: { server: Server; url: string }
/** What the app's request handler enqueues next, and the ids it got. */
let nextTopic = ''
const enqueued: string[] = []

beforeAll(async () => {
  await migrate(t.db, opts())
  sdk = registerTracingSdk()
  app = await startTracedServer(async () => {
    const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: nextTopic, payload: { email: 'a@example.com' } }, opts()))
    enqueued.push(...ids)
  })
})
afterAll(async () => {
  await new Promise((resolve) => app.server.close(resolve))
  await sdk.shutdown()
})
afterEach(() => sdk.exporter.reset())

/** A request in a new client trace that enqueues one message on `topic`, then one relay cycle through `publisher`. */
async function requestAndRelay(topic: string, publisher: Publisher): Promise<{ traceId: string; messageId: string }> {
  const traceId = randomBytes(16).toString('hex')
  nextTopic = topic
  expect(await postTraced(app.url, traceId)).toBe(201)
  const messageId = enqueued.at(-1) as string
  const relay = createRelay({ db: t.db, publisher, ...opts() })
  expect(await relay.runOnce()).toBe(1)
  return { traceId, messageId }
}

/** What a handler saw: the message's headers and the span active while it ran. */
interface Handled {
  headers: Record<string, string>
  active: SpanContext | undefined
}
const activeSpan = () => trace.getActiveSpan()?.spanContext()

/** The handler ran inside the process span. */
function expectHandledInProcessSpan(handled: Handled, destination: string): void {
  expect(handled.active?.spanId).toBe(spanNamed(sdk.spans(), `process ${destination}`).spanContext().spanId)
}

test("a traceparent the caller put in the headers is the message's creation context, kept as given, with no create span", async () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  const topic = uniqueName('own_context')
  await trace.getTracer('test').startActiveSpan('job', (span) =>
    withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic, payload: 1, headers: { traceparent } }, opts())).finally(() => span.end()),
  )
  const publisher = recordingPublisher()
  expect(await createRelay({ db: t.db, publisher, ...opts() }).runOnce()).toBe(1)
  expect(publisher.confirmed.map((m) => m.headers)).toEqual([{ traceparent }])
  const spans = sdk.spans()
  expect(spans.filter((s) => s.name.startsWith('create'))).toEqual([])
  expect(spanNamed(spans, `send ${topic}`).links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7']])
})

test('an enqueue that throws exports no create span: its messages were never written', async () => {
  const topic = uniqueName('refused')
  await expect(
    trace.getTracer('test').startActiveSpan('job', (span) =>
      withTransaction(t.db, (trx) => enqueueOnCommit(trx, [{ topic, payload: 1 }, { topic, payload: 2, headers: { 'txbox-x': 'reserved' } }], opts())).finally(() => span.end()),
    ),
  ).rejects.toThrow(InvalidMessageError)
  expect(sdk.spans().map((s) => s.name)).toEqual(['job'])
})

describe('Redis Streams', () => {
  const redis = new Redis(serviceUrls().redisUrl)
  const topic = uniqueName('traced_redis')
  afterAll(async () => {
    await redis.del(topic)
    await redis.quit()
  })

  test('request → create → process in one trace; the send span links to create', async () => {
    const { traceId, messageId } = await requestAndRelay(topic, redisStreamsPublisher({ redis }))
    const handled: Handled[] = []
    const consumer = await consumeRedisStream({
      redis, stream: topic, group: 'g', consumer: 'c1', blockMs: 50,
      handler: (m) => void handled.push({ headers: { ...m.headers }, active: activeSpan() }),
    })
    try {
      await waitFor(() => sdk.spans().some((s) => s.name === `process ${topic}`), { timeoutMs: 10_000 })
    } finally {
      await consumer.stop()
    }
    expectOneMessageTrace(sdk.spans(), { traceId, topic, messageId, system: 'redis', destination: topic, headers: handled[0]?.headers ?? {} })
    expectHandledInProcessSpan(handled[0] as Handled, topic)
  })

  test('a batch of messages goes out in one send span linked to each create span; a failed handler marks its process span', async () => {
    const batchTopic = `${topic}_batch`
    const ids = await trace.getTracer('test').startActiveSpan('job', async (span) => {
      const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, [1, 2, 3].map((n) => ({ topic: batchTopic, payload: n })), opts()))
      span.end()
      return ids
    })
    expect(await createRelay({ db: t.db, publisher: redisStreamsPublisher({ redis }), ...opts() }).runOnce()).toBe(3)
    const consumer = await consumeRedisStream<number>({
      redis, stream: batchTopic, group: 'g', consumer: 'c1', blockMs: 50, maxDeliveries: 1, logger: silentLogger,
      handler: (m) => {
        if (m.payload === 2) throw new Error('smtp timeout')
      },
    })
    try {
      await waitFor(() => sdk.spans().filter((s) => s.name === `process ${batchTopic}`).length === 3, { timeoutMs: 10_000 })
    } finally {
      await consumer.stop()
      await redis.del(batchTopic, `${batchTopic}:dead`)
    }
    const spans = sdk.spans()
    const creates = spans.filter((s) => s.name === `create ${batchTopic}`)
    expect(creates.map((s) => s.attributes['messaging.message.id'])).toEqual(ids)
    const send = spanNamed(spans, `send ${batchTopic}`)
    expect(send.attributes['messaging.batch.message_count']).toBe(3)
    expect(send.attributes['messaging.message.id']).toBeUndefined()
    expect(send.links.map((l) => l.context.spanId)).toEqual(creates.map((s) => s.spanContext().spanId))
    const processes = spans.filter((s) => s.name === `process ${batchTopic}`)
    const failed = processes.find((s) => s.attributes['messaging.message.id'] === ids[1])
    expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp timeout' })
    expect(failed?.attributes['error.type']).toBe('Error')
    expect(processes.filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(1)
  })
})

describe('RabbitMQ', () => {
  const exchange = uniqueName('traced_x')
  const queue = uniqueName('traced_q')
  const topic = 'user.signed_up'
  let connection: Awaited<ReturnType<typeof amqplib.connect>>
  beforeAll(async () => {
    connection = await amqplib.connect(serviceUrls().amqpUrl)
    const ch = await connection.createChannel()
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false })
    await ch.assertQueue(queue, { durable: false })
    await ch.bindQueue(queue, exchange, topic)
    await ch.close()
  })
  afterAll(async () => {
    const ch = await connection.createChannel()
    await ch.deleteQueue(queue)
    await ch.deleteExchange(exchange)
    await ch.close()
    await connection.close()
  })

  test('request → create → process in one trace; the send span links to create', async () => {
    const publisher = rabbitmqPublisher({ connection, exchange, assertExchange: false })
    const { traceId, messageId } = await requestAndRelay(topic, publisher)
    const handled: Handled[] = []
    const consumer = await consumeRabbitmq({ connection, queue, handler: (m) => void handled.push({ headers: { ...m.headers }, active: activeSpan() }) })
    try {
      await waitFor(() => sdk.spans().some((s) => s.name === `process ${queue}`), { timeoutMs: 10_000 })
    } finally {
      await consumer.stop()
      await publisher.close?.()
    }
    expectOneMessageTrace(sdk.spans(), { traceId, topic, messageId, system: 'rabbitmq', destination: queue, headers: handled[0]?.headers ?? {} })
    expectHandledInProcessSpan(handled[0] as Handled, queue)
  })
})

describe('NATS JetStream', () => {
  const stream = uniqueName('traced_stream')
  const topic = `${stream}.signed_up`
  let nc: NatsConnection
  beforeAll(async () => {
    nc = await connect({ servers: serviceUrls().natsUrl })
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.Memory })
  })
  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(stream)
    await nc.close()
  })

  test('request → create → process in one trace; the send span links to create', async () => {
    const { traceId, messageId } = await requestAndRelay(topic, natsPublisher({ connection: nc }))
    const handled: Handled[] = []
    const consumer = await consumeNats({ connection: nc, stream, durable: 'traced', fetchWaitMs: 1000, logger: silentLogger, handler: (m) => void handled.push({ headers: { ...m.headers }, active: activeSpan() }) })
    try {
      await waitFor(() => sdk.spans().some((s) => s.name === `process ${topic}`), { timeoutMs: 10_000 })
    } finally {
      await consumer.stop()
    }
    expectOneMessageTrace(sdk.spans(), { traceId, topic, messageId, system: 'nats', destination: topic, headers: handled[0]?.headers ?? {} })
    expectHandledInProcessSpan(handled[0] as Handled, topic)
  })
})

describe('BullMQ', () => {
  const topic = 'user.signed_up'
  const prefix = uniqueName('traced_bull')
  const redis = new Redis(serviceUrls().redisUrl, { maxRetriesPerRequest: null })
  afterAll(async () => {
    const queue = new Queue(topic, { connection: redis, prefix })
    await queue.obliterate({ force: true })
    await queue.close()
    await redis.quit()
  })

  test('request → create → process (withProcessOnce) in one trace; the send span links to create', async () => {
    const publisher = bullmqPublisher({ connection: redis, prefix })
    const { traceId, messageId } = await requestAndRelay(topic, publisher)
    const handled: Handled[] = []
    const worker = new Worker(
      topic,
      withProcessOnce(t.db, async (job) => void handled.push({ headers: { ...(job.opts.telemetry?.metadata as unknown as Record<string, string>) }, active: activeSpan() }), opts()),
      { connection: redis, prefix },
    )
    try {
      await waitFor(() => sdk.spans().some((s) => s.name === `process ${topic}`), { timeoutMs: 10_000 })
    } finally {
      await worker.close()
      await publisher.close?.()
    }
    expectOneMessageTrace(sdk.spans(), { traceId, topic, messageId, system: 'bullmq', destination: topic, headers: handled[0]?.headers ?? {} })
    expectHandledInProcessSpan(handled[0] as Handled, topic)
  })
})
