import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startTcpProxy, type TcpProxy } from '../../../../test/support/tcp-proxy.js'
import { ensureBuilt, ensureCliBuilt, repoRoot, startCli } from './cli-process.js'

// `txbox relay` stops when asked even if its broker stopped answering (a frozen
// server, a stalled network): closing the broker connection is bounded. The
// broker sits behind a TCP proxy of this file that stalls on demand: the
// shared servers are never frozen.
const project = mkdtempSync(path.join(tmpdir(), 'txbox-cli-shutdown-'))
writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true }\n')
mkdirSync(path.join(project, 'node_modules/@txbox'), { recursive: true })
const adapters = { redis: path.join(repoRoot, 'packages/redis'), rabbitmq: path.join(repoRoot, 'packages/rabbitmq') }
const install = (adapter: keyof typeof adapters, client: string) => {
  symlinkSync(adapters[adapter], path.join(project, `node_modules/@txbox/${adapter}`), 'dir')
  const resolved = createRequire(path.join(adapters[adapter], 'package.json')).resolve(`${client}/package.json`)
  symlinkSync(path.dirname(realpathSync(resolved)), path.join(project, `node_modules/${client}`), 'dir')
}
install('redis', 'ioredis')
install('rabbitmq', 'amqplib')
const amqplib = createRequire(path.join(adapters.rabbitmq, 'package.json'))('amqplib') as typeof import('amqplib')

const t = useTestDatabase('clishutdown')
const proxies: TcpProxy[] = []

beforeAll(async () => {
  await ensureCliBuilt()
  await ensureBuilt(adapters.redis, 'dist/index.js')
  await ensureBuilt(adapters.rabbitmq, 'dist/index.js')
  await migrate(t.db, { schema: t.schema })
}, 180_000)

afterAll(async () => {
  for (const proxy of proxies) await proxy.close()
  rmSync(project, { recursive: true, force: true })
})

async function proxyTo(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
  proxies.push(proxy)
  target.hostname = '127.0.0.1'
  target.port = String(proxy.port)
  return { proxy, url: target.toString() }
}

/**
 * Runs the relay through a proxy, has it publish one message (so its broker
 * connection is open), freezes the broker, sends SIGINT and returns how the
 * process ended and how long it took.
 */
async function stopWithFrozenBroker(brokerUrl: string, args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const { proxy, url } = await proxyTo(brokerUrl)
  const relay = startCli(['relay', '--schema', t.schema, '--poll-interval', '100', ...args], { cwd: project, env: { DATABASE_URL: t.url, TXBOX_BROKER_URL: url } })
  try {
    await waitFor(() => relay.stderr().includes('relaying;'), { timeoutMs: 15_000, message: 'the relay started' })
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'shutdown.test', payload: { n: 1 } }, { schema: t.schema }))
    await waitFor(() => relay.stderr().includes('published 1 message(s)'), { timeoutMs: 15_000, message: 'the relay published its message' })
    proxy.stall()
    const signalled = Date.now()
    relay.kill('SIGINT')
    const exited = await Promise.race([relay.exited, timeout(20_000)])
    if (exited === 'timeout') throw new Error(`the relay did not exit within 20 s of SIGINT with its broker frozen:\n${relay.stderr()}`)
    return { code: exited.code, stderr: exited.stderr, ms: Date.now() - signalled }
  } finally {
    relay.kill('SIGKILL')
    await relay.exited.catch(() => {})
    proxy.resume()
  }
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref())
}

describe('txbox relay exits after SIGINT when its broker stops answering', () => {
  test('Redis frozen: the QUIT that gets no answer is cut short, the relay exits 0 within seconds', async () => {
    const stream = uniqueName('cli_shutdown')
    const { code, stderr, ms } = await stopWithFrozenBroker(serviceUrls().redisUrl, ['--stream', stream])
    expect(code, stderr).toBe(0)
    expect(ms).toBeLessThan(10_000)
    expect(stderr).toMatch(/txbox relay stopped|stopping: finishing the batch in flight/)
    expect(stderr).toMatch(/did not answer .*closing/i)
  })

  test('RabbitMQ frozen: closing the channel and connection is bounded too', async () => {
    const exchange = uniqueName('cli_shutdown')
    const admin = await amqplib.connect(serviceUrls().amqpUrl)
    const channel = await admin.createChannel()
    try {
      // As the publisher declares it, so that its declaration succeeds.
      await channel.assertExchange(exchange, 'topic', { durable: true })
      const { queue } = await channel.assertQueue('', { exclusive: true })
      await channel.bindQueue(queue, exchange, '#')
      const { code, stderr, ms } = await stopWithFrozenBroker(serviceUrls().amqpUrl, ['--exchange', exchange])
      expect(code, stderr).toBe(0)
      expect(ms).toBeLessThan(10_000)
      expect(stderr).toMatch(/did not answer .*closing/i)
    } finally {
      await channel.deleteExchange(exchange).catch(() => {})
      await admin.close()
    }
  })
})
