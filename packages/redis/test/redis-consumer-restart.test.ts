import { consumeRedisStream } from '@txbox/redis'
import { waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { type OwnRedisServer, startOwnRedisServer } from '../../../test/support/redis-server.js'
import { recordingLogger } from './consumer-fixture.js'

// This file kills and restarts Redis, so it runs a redis-server of its own on
// a free port and never touches the shared one.

let server: OwnRedisServer
let admin: Redis

beforeAll(async () => {
  server = await startOwnRedisServer()
  admin = client()
})
afterAll(async () => {
  admin.disconnect()
  await server.close()
})

/** A client that reconnects quickly after the restart; its own errors (the user's business) are ignored. */
function client(name?: string): Redis {
  const redis = new Redis(server.url, { connectionName: name, retryStrategy: () => 50 })
  redis.on('error', () => {})
  return redis
}

/** Whether the connection named `name` is blocked in XREADGROUP on the server. */
async function blockedInRead(name: string): Promise<boolean> {
  const list = (await admin.client('LIST').catch(() => '')) as string
  return list.split('\n').some((line) => line.includes(`name=${name} `) && line.includes('cmd=xreadgroup') && /flags=\S*b/.test(line))
}

/** The client id of the connection named `name` that is blocked in XREADGROUP. */
async function readerId(name: string): Promise<string | undefined> {
  const list = (await admin.client('LIST')) as string
  const line = list.split('\n').find((l) => l.includes(`name=${name} `) && l.includes('cmd=xreadgroup'))
  return line?.match(/\bid=(\d+)/)?.[1]
}

describe('the consumer across a Redis restart or a dropped connection', () => {
  test('stop() still ends a blocking read at once after its connection was dropped and made again (a new client id)', async () => {
    const name = 'restart-stop'
    const redis = client(name)
    try {
      const consumer = await consumeRedisStream({ redis, stream: 's-stop', group: 'g', consumer: 'c1', blockMs: 10_000, logger: recordingLogger(), handler: () => {} })
      await waitFor(() => blockedInRead(name), { message: 'the consumer is blocked in XREADGROUP' })
      // A restarted server may hand out the same small ids again; dropping the
      // connection on a running server always gives the new one another id.
      const before = await readerId(name)
      await admin.client('KILL', 'ID', before as string)
      await waitFor(async () => (await blockedInRead(name)) && (await readerId(name)) !== before, { message: 'the consumer is blocked in XREADGROUP again, on a new connection' })

      const began = Date.now()
      await consumer.stop()
      expect(Date.now() - began).toBeLessThan(2000)
    } finally {
      redis.disconnect()
    }
  })

  test("the consumer's own connection reports its errors to the logger, not as ioredis' unhandled error event", async () => {
    const name = 'restart-errors'
    const redis = client(name)
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {})
    const logger = recordingLogger()
    try {
      const consumer = await consumeRedisStream({ redis, stream: 's-errors', group: 'g', consumer: 'c1', blockMs: 10_000, logger, handler: () => {} })
      await waitFor(() => blockedInRead(name), { message: 'the consumer is blocked in XREADGROUP' })
      await server.kill()
      await waitFor(() => logger.find(/connection/).some((l) => l.level === 'error'), { message: 'the lost connection is logged' })
      await server.start()
      await consumer.stop()
      const unhandled = consoleError.mock.calls.filter((call) => String(call[0]).includes('Unhandled error event'))
      expect(unhandled).toEqual([])
      expect(logger.find(/connection/).find((l) => l.level === 'error')?.fields).toMatchObject({ stream: 's-errors', redis: `127.0.0.1:${server.port}` })
    } finally {
      consoleError.mockRestore()
      redis.disconnect()
    }
  })
})

describe('stop() while Redis is down', () => {
  test('returns within a few seconds although the blocking read waits on a connection ioredis is still making again', async () => {
    const name = 'down-stop'
    const redis = client(name)
    try {
      const consumer = await consumeRedisStream({ redis, stream: 's-down', group: 'g', consumer: 'c1', blockMs: 10_000, logger: recordingLogger(), handler: () => {} })
      await waitFor(() => blockedInRead(name), { message: 'the consumer is blocked in XREADGROUP' })
      await server.kill()
      const began = Date.now()
      await consumer.stop()
      expect(Date.now() - began).toBeLessThan(5000)
    } finally {
      redis.disconnect()
      await server.start()
    }
  })
})
