import { type ChildProcess, spawn } from 'node:child_process'
import { connect, createServer } from 'node:net'
import { BullmqConnectError, broker } from '@txbox/bullmq'
import { InvalidOptionError, silentLogger } from '@txbox/core'
import { serviceUrls, waitFor } from '@txbox/testing'
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { outboxMessage, removeQueues, testPrefix, testRedis } from './bullmq-test-queues.js'

const prefix = testPrefix('broker')
let redis: Redis
const redisUrl = new URL(serviceUrls().redisUrl)
/** The test Redis, as a BullMQ broker URL. */
const brokerUrl = `bullmq+redis://${redisUrl.host}`

beforeAll(() => {
  redis = testRedis()
})
afterAll(async () => {
  await removeQueues(redis, prefix)
  await redis.quit()
})

const open = (url: string, flags: Record<string, string | undefined> = {}) => broker.open(url, { flags: { prefix, ...flags }, logger: silentLogger })

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

/** Whether something accepts a TCP connection on `port`. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

describe('broker descriptor', () => {
  test('names the bullmq+redis:// and bullmq+rediss:// schemes, the install line and its flags', () => {
    expect(broker.name).toBe('bullmq')
    expect(broker.schemes).toEqual(['bullmq+redis:', 'bullmq+rediss:'])
    expect(broker.install).toBe('npm install @txbox/bullmq bullmq ioredis')
    expect(Object.keys(broker.flags).sort()).toEqual(['prefix', 'queue'])
  })

  test('opens a publisher that adds jobs through one connection, to the queue of --queue when given', async () => {
    const connection = await open(brokerUrl, { queue: 'fixed' })
    try {
      expect(connection.description).toBe(brokerUrl)
      const messages = [outboxMessage('a.topic'), outboxMessage('b.topic')]
      const results = await connection.publisher.publish(messages, { signal: new AbortController().signal })
      expect(results).toEqual([{ ok: true }, { ok: true }])
      const queue = new Queue('fixed', { connection: redis, prefix })
      try {
        expect((await queue.getWaiting()).map((j) => [j.id, j.name]).sort()).toEqual(messages.map((m) => [m.messageId, m.topic]).sort())
      } finally {
        await queue.close()
      }
    } finally {
      await connection.close()
    }
  })

  describe('a Redis that requires a password (a server of this file\'s own)', () => {
    let server: ChildProcess | undefined
    let port = 0
    beforeAll(async () => {
      port = await freePort()
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'right-pw'], { stdio: 'ignore' })
      server = proc
      await waitFor(() => answers(port), { timeoutMs: 10_000, message: `redis-server on port ${port}` })
    })
    afterAll(async () => {
      const proc = server
      if (!proc || proc.exitCode !== null) return
      const exited = new Promise((resolve) => proc.once('exit', resolve))
      proc.kill('SIGKILL')
      await exited
    })

    test('fails at once, with the password masked, on a wrong password', async () => {
      const started = Date.now()
      const error = await open(`bullmq+redis://:s3cret-pw@127.0.0.1:${port}`).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BullmqConnectError)
      expect((error as Error).message).toContain(`bullmq+redis://:***@127.0.0.1:${port}`)
      expect((error as Error).message).not.toContain('s3cret-pw')
      expect((error as Error).message).toMatch(/WRONGPASS/)
      expect(Date.now() - started).toBeLessThan(5000)
    })

    test('fails at once without a password', async () => {
      const error = await open(`bullmq+redis://127.0.0.1:${port}`).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BullmqConnectError)
      expect((error as Error).message).toMatch(/NOAUTH/)
    })

    test('works with the right one', async () => {
      const connection = await open(`bullmq+redis://:right-pw@127.0.0.1:${port}`)
      try {
        expect(connection.description).toBe(`bullmq+redis://:***@127.0.0.1:${port}`)
        const [result] = await connection.publisher.publish([outboxMessage('secured')], { signal: new AbortController().signal })
        expect(result).toEqual({ ok: true })
      } finally {
        await connection.close()
      }
    })
  })

  test('fails at once when nothing listens at the address', async () => {
    const port = await freePort()
    const error = await open(`bullmq+redis://127.0.0.1:${port}`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BullmqConnectError)
    expect((error as Error).message).toMatch(/ECONNREFUSED/)
  })

  test('refuses another scheme, a malformed URL and flags of other brokers before connecting', async () => {
    await expect(open('redis://127.0.0.1:6379')).rejects.toThrow(InvalidOptionError)
    await expect(open('redis://127.0.0.1:6379')).rejects.toThrow(/must start with bullmq\+redis:\/\//)
    await expect(open('bullmq+redis://[::1')).rejects.toThrow(/is not a URL/)
    await expect(open(brokerUrl, { stream: 'events' })).rejects.toThrow(/--stream is not an option of the BullMQ broker/)
    // Refused after connecting: the client is closed again (the file's leak check would see it).
    await expect(open(brokerUrl, { queue: '' })).rejects.toThrow(/queue must be a non-empty string/)
  })
})
