import { execFile } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { OutboxMessage } from '@txbox/core'
import { consumeRabbitmq, type RabbitmqConsumer, RabbitmqConsumerError, rabbitmqPublisher } from '@txbox/rabbitmq'
import { serviceUrls, uniqueName, waitFor } from '@txbox/testing'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.js'
import { type Admin, type AdminChannel, openAdmin } from './broker.js'

// A connection can go silent instead of closing (a cut network, a frozen
// broker): no reset, no answer, and RabbitMQ's heartbeat (60 s by default)
// notices only minutes later. The consumer's stop() must not wait for it.

const url = serviceUrls().amqpUrl
const exchange = uniqueName('rmq_silent')
let admin: Admin
let channel: AdminChannel
let publisher: ReturnType<typeof rabbitmqPublisher>
const queues: string[] = []
const proxies: TcpProxy[] = []
const consumers: RabbitmqConsumer[] = []
let seq = 0

beforeAll(async () => {
  ;({ connection: admin, channel } = await openAdmin(`${exchange}-admin`))
  await channel.assertExchange(exchange, 'topic', { durable: true })
  publisher = rabbitmqPublisher({ url, exchange })
})

afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close()
  for (const consumer of consumers.splice(0)) await consumer.stop()
})

afterAll(async () => {
  await publisher?.close?.()
  for (const q of queues) await channel.deleteQueue(q)
  await channel.deleteExchange(exchange)
  await admin.close()
})

async function workQueue(topic: string): Promise<string> {
  const queue = uniqueName('rmq_silent_q')
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } })
  await channel.bindQueue(queue, exchange, topic)
  queues.push(queue)
  return queue
}

async function publish(topic: string): Promise<string> {
  seq++
  const m: OutboxMessage = { id: String(seq), messageId: `${exchange}-m${seq}`, topic, key: null, payload: '{}', headers: {}, attempts: 0, createdAt: new Date() }
  const [result] = await publisher.publish([m], { signal: new AbortController().signal })
  if (!result?.ok) throw new Error('publish failed')
  return m.messageId
}

/** The AMQP url through a fresh proxy to the broker. */
async function proxiedUrl(): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) })
  proxies.push(proxy)
  target.hostname = '127.0.0.1'
  target.port = String(proxy.port)
  return { proxy, url: target.toString() }
}

/** How long `promise` took, or `'still waiting'` after `limitMs` (a hang fails fast, not at the test timeout). */
async function timed(promise: Promise<unknown>, limitMs: number): Promise<number | 'still waiting'> {
  const began = Date.now()
  const outcome = await Promise.race([promise.then(() => 'done' as const), sleep(limitMs, 'still waiting' as const)])
  return outcome === 'done' ? Date.now() - began : outcome
}

const reasons = (errors: unknown[]) => errors.filter((e) => e instanceof RabbitmqConsumerError).map((e) => (e as RabbitmqConsumerError).reason)

/** The negotiated heartbeat (s) of each open connection, by connection name, from rabbitmqctl. */
async function heartbeats(): Promise<Map<string, number>> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['list_connections', 'timeout', 'client_properties', '-q'])
  const byName = new Map<string, number>()
  for (const line of stdout.split('\n')) {
    const name = /"connection_name",longstr,<<"([^"]*)">>|"connection_name","([^"]*)"/.exec(line)
    if (name) byName.set((name[1] ?? name[2]) as string, Number(line.split('\t')[0]))
  }
  return byName
}

describe('consumeRabbitmq on a connection that went silent', () => {
  test('stop() returns within its bound, cuts its connection, and the message it could not ack is delivered again', async () => {
    const topic = `${exchange}.stop`
    const queue = await workQueue(topic)
    const { proxy, url: through } = await proxiedUrl()
    const errors: unknown[] = []
    const started: string[] = []
    let finish!: () => void
    const finishing = new Promise<void>((resolve) => (finish = resolve))
    const consumer = await consumeRabbitmq({
      url: through,
      queue,
      reconnectDelay: 50,
      handler: async (m) => {
        started.push(m.messageId)
        await finishing
      },
      onError: (error) => errors.push(error),
    })
    const id = await publish(topic)
    await waitFor(() => started.length === 1, { message: 'the handler started' })

    proxy.stall()
    const stopping = consumer.stop()
    finish() // its ack goes into the silent connection
    const took = await timed(stopping, 12_000)
    expect(took).toEqual(expect.any(Number))
    expect(took).toBeLessThan(5000 + 2000)
    expect(reasons(errors)).toEqual(['unanswered'])

    // The broker learns of nothing while the network is silent; once the link is reset it takes the message back.
    await proxy.close()
    const again: string[] = []
    consumers.push(await consumeRabbitmq({ url, queue, handler: async (m) => void again.push(m.messageId) }))
    await waitFor(() => again.length === 1, { message: 'the unacked message was delivered again' })
    expect(again).toEqual([id])
  })

  test('stop() returns within its bound while a reconnection waits for a handshake, which gives up by itself', async () => {
    const topic = `${exchange}.attach`
    const queue = await workQueue(topic)
    const { proxy, url: through } = await proxiedUrl()
    const errors: unknown[] = []
    const consumer = await consumeRabbitmq({ url: through, queue, reconnectDelay: 50, handler: async () => {}, onError: (error) => errors.push(error) })

    // New connections through a stalled proxy connect but are never answered.
    proxy.stall()
    proxy.dropAll()
    await waitFor(() => proxy.accepted === 2, { message: 'the consumer reconnects' })
    const took = await timed(consumer.stop(), 12_000)
    expect(took).toEqual(expect.any(Number))
    expect(took).toBeLessThan(5000 + 2000)
    expect(reasons(errors)).toEqual(['channel-lost', 'unanswered'])

    // The handshake does not hang for ever: amqplib gives up on it, and nothing is left open.
    await waitFor(() => errors.some((e) => /ETIMEDOUT/.test((e as Error).message)), { timeoutMs: 15_000, message: 'the unanswered handshake timed out' })
  }, 30_000)

  test('a connection the consumer opens asks for a 10 s heartbeat, unless its url sets one', async () => {
    const topic = `${exchange}.heartbeat`
    const queue = await workQueue(topic)
    const name = `${exchange}-hb`
    consumers.push(await consumeRabbitmq({ url, queue, connectionName: name, handler: async () => {} }))
    consumers.push(await consumeRabbitmq({ url: `${url}?heartbeat=30`, queue, connectionName: `${name}-30`, handler: async () => {} }))
    const negotiated = await heartbeats()
    expect([negotiated.get(name), negotiated.get(`${name}-30`)]).toEqual([10, 30])
  })
})
