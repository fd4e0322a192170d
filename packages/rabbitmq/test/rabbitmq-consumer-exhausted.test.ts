// A delivery that comes back after its last attempt (maxDeliveries) is
// dead-lettered without running the handler, unless `wrap` (processOnce)
// says the message was processed already: another consumer handled it and
// its ack was lost with its channel (found by the checker's consumer half,
// seed 1930398664: a quorum queue, three consumers, maxDeliveries 2).
import { migrate, type OutboxMessage, processOnce } from '@txbox/core'
import { consumeRabbitmq, type RabbitmqConsumer, RabbitmqConsumerError, rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.js'
import { type Admin, type AdminChannel, openAdmin } from './broker.js'

const url = serviceUrls().amqpUrl
const t = useTestDatabase('rmq_exhausted')
const exchange = uniqueName('rmq_exhausted')
const deadExchange = `${exchange}.dlx`
let admin: Admin
let channel: AdminChannel
let publisher: ReturnType<typeof rabbitmqPublisher>
const queues: string[] = []
const proxies: TcpProxy[] = []
const consumers: RabbitmqConsumer[] = []
let seq = 0

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  ;({ connection: admin, channel } = await openAdmin(`${exchange}-admin`))
  await channel.assertExchange(exchange, 'topic', { durable: true })
  await channel.assertExchange(deadExchange, 'direct', { durable: true })
  publisher = rabbitmqPublisher({ url, exchange })
})

afterEach(async () => {
  for (const consumer of consumers.splice(0)) await consumer.stop()
  for (const proxy of proxies.splice(0)) await proxy.close()
})

afterAll(async () => {
  await publisher?.close?.()
  for (const q of queues) await channel.deleteQueue(q)
  await channel.deleteExchange(exchange)
  await channel.deleteExchange(deadExchange)
  await admin.close()
})

async function workQueue(topic: string, type: 'quorum' | 'classic'): Promise<{ queue: string; dead: string }> {
  const queue = uniqueName(`rmq_exh_${type}`)
  const dead = `${queue}.dead`
  await channel.assertQueue(dead, { durable: true })
  await channel.bindQueue(dead, deadExchange, queue)
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': type, 'x-dead-letter-exchange': deadExchange, 'x-dead-letter-routing-key': queue } })
  await channel.bindQueue(queue, exchange, topic)
  queues.push(queue, dead)
  return { queue, dead }
}

async function publish(topic: string): Promise<OutboxMessage> {
  seq++
  const m: OutboxMessage = { id: String(seq), messageId: `${exchange}-m${seq}`, topic, key: null, payload: JSON.stringify({ seq }), headers: {}, attempts: 0, createdAt: new Date() }
  const [result] = await publisher.publish([m], { signal: AbortSignal.timeout(10_000) })
  if (!result?.ok) throw new Error(`publish failed: ${result && !result.ok ? result.error.message : ''}`)
  return m
}

const count = async (queue: string) => (await channel.checkQueue(queue)).messageCount

const inboxHas = async (messageId: string) =>
  ((await sql<{ n: number }>`select count(*)::int as n from ${sql.id(t.schema, 'inbox')} where message_id = ${messageId}`.execute(t.db)).rows[0]?.n ?? 0) > 0

function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

describe('a delivery past maxDeliveries, with processOnce as wrap', () => {
  for (const type of ['classic', 'quorum'] as const) {
    for (const processedElsewhere of [true, false]) {
      test(`${processedElsewhere ? 'of a message processed elsewhere (its ack lost) is acked, not dead-lettered' : 'of a message never processed is dead-lettered'}, without running the handler (${type} queue)`, async () => {
        const topic = `${exchange}.${type}.${processedElsewhere}`
        const { queue, dead } = await workQueue(topic, type)
        const target = new URL(url)
        const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) })
        proxies.push(proxy)
        target.hostname = '127.0.0.1'
        target.port = String(proxy.port)
        const errors: unknown[] = []
        const runs: string[] = []
        const started = gate()
        const fail = gate()
        const record = (fields: Record<string, unknown>) => fields.err !== undefined && errors.push(fields.err)
        const consumer = await consumeRabbitmq({
          url: target.toString(),
          queue,
          prefetch: 1,
          maxDeliveries: 1,
          reconnectDelay: 20,
          logger: { debug() {}, info() {}, warn: record, error: record },
          wrap: (m, run) => processOnce(t.db, m.messageId, run, { schema: t.schema }),
          handler: async (m) => {
            runs.push(m.messageId)
            if (runs.length > 1) return
            started.open()
            await fail.opened
            throw new Error('failed after its connection went')
          },
        })
        consumers.push(consumer)
        const first = await publish(topic)
        await started.opened
        // The connection goes while the only attempt runs, and stays away until the test lets it back.
        proxy.refuse(true)
        proxy.dropAll()
        await waitFor(() => errors.some((e) => e instanceof RabbitmqConsumerError && e.reason === 'channel-lost'), { timeoutMs: 20_000, message: 'the lost channel reported' })
        fail.open()
        await waitFor(() => errors.some((e) => e instanceof RabbitmqConsumerError && e.reason === 'settle-failed'), { timeoutMs: 20_000, message: 'the lost reject reported' })
        // Meanwhile another consumer got the message, handled it (its record committed), and lost its ack: RabbitMQ has it back.
        if (processedElsewhere) await processOnce(t.db, first.messageId, async () => {}, { schema: t.schema })
        proxy.refuse(false)
        // With prefetch 1, the next message comes once the first one's redelivery was settled.
        const next = await publish(topic)
        await waitFor(() => runs.includes(next.messageId), { timeoutMs: 30_000, message: 'the next message handled' })
        expect(runs).toEqual([first.messageId, next.messageId])
        const exhausted = errors.filter((e) => e instanceof RabbitmqConsumerError && e.reason === 'deliveries-exhausted')
        if (processedElsewhere) {
          expect(exhausted).toEqual([])
          expect(await count(dead)).toBe(0)
        } else {
          expect(exhausted).toHaveLength(1)
          await waitFor(async () => (await count(dead)) === 1, { message: 'dead-lettered' })
          expect(await inboxHas(first.messageId)).toBe(false)
        }
        expect(await count(queue)).toBe(0)
      })
    }
  }
})
