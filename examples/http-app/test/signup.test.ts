import { request } from 'node:http'
import { createRelay, migrate, type Relay } from '@txbox/core'
import { type RedisStreamConsumer, redisStreamsPublisher } from '@txbox/redis'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAppTables } from '../src/database.js'
import { buildHttpServer } from '../src/http-server.js'
import { startWelcomeWorker } from '../src/welcome-worker.js'

const t = useTestDatabase('http_app')
const stream = uniqueName('http_app_welcome')
const sent: string[] = []
let redis: Redis
let relay: Relay
let worker: RedisStreamConsumer
let http: FastifyInstance
let baseUrl: string

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  await createAppTables(t.db)
  redis = new Redis(serviceUrls().redisUrl)
  relay = createRelay({ db: t.db, listen: t.pool, schema: t.schema, publisher: redisStreamsPublisher({ redis, stream }) })
  await relay.start()
  worker = await startWelcomeWorker({
    db: t.db,
    redis,
    stream,
    txboxSchema: t.schema,
    sendEmail: async (to) => {
      sent.push(to)
    },
  })
  http = buildHttpServer({ db: t.db, txboxSchema: t.schema })
  baseUrl = await http.listen({ port: 0, host: '127.0.0.1' })
})

afterAll(async () => {
  await http?.close()
  await relay?.stop()
  await worker?.stop()
  await redis?.del(stream, `${stream}:dead`)
  await redis?.quit()
})

describe('http-app: POST /signup', () => {
  it('commits the user and the worker sends exactly one welcome email', async () => {
    const response = await postJson('/signup', { email: 'ada@example.com' })
    expect(response.status).toBe(201)
    const user = response.body as { id: number; email: string }
    expect(user.email).toBe('ada@example.com')

    await waitFor(() => sent.includes('ada@example.com'), { timeoutMs: 10_000 })
    await drained()
    expect(sent.filter((to) => to === 'ada@example.com')).toHaveLength(1)
    const rows = await t.db.selectFrom('welcome_emails').select('user_id').where('user_id', '=', user.id).execute()
    expect(rows).toHaveLength(1)
  })

  it('answers 409 for an email already registered, and sends nothing more', async () => {
    expect((await postJson('/signup', { email: 'bob@example.com' })).status).toBe(201)
    const again = await postJson('/signup', { email: 'bob@example.com' })
    expect(again.status).toBe(409)
    await waitFor(() => sent.includes('bob@example.com'), { timeoutMs: 10_000 })
    await drained()
    expect(sent.filter((to) => to === 'bob@example.com')).toHaveLength(1)
  })

  it('rejects a body without an email with 400, before any transaction', async () => {
    const response = await postJson('/signup', { name: 'no email' })
    expect(response.status).toBe(400)
    const { count } = await t.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow()
    const { backlog } = await relay.metrics()
    expect({ users: Number(count), backlog }).toEqual({ users: 2, backlog: 0 })
  })

  it('drops a redelivered message by its messageId (processOnce): still one email', async () => {
    const [first] = (await redis.xrange(stream, '-', '+', 'COUNT', 1)) as [string, string[]][]
    expect(first).toBeDefined()
    const fields = first![1]
    const to = JSON.parse(fields[fields.indexOf('payload') + 1]!).email as string
    await redis.xadd(stream, '*', ...fields) // the same message, published a second time
    await drained()
    expect(sent.filter((s) => s === to)).toHaveLength(1)
  })
})

/** The relay has nothing left and the worker's group has read and acknowledged everything. */
async function drained(): Promise<void> {
  await waitFor(
    async () => {
      if ((await relay.metrics()).backlog > 0) return false
      const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][]
      const group = groups.map((g) => toRecord(g)).find((g) => g.name === 'welcome-mailer')
      return group !== undefined && group.pending === 0 && group.lag === 0
    },
    { timeoutMs: 10_000 },
  )
}

function toRecord(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {}
  for (let i = 0; i < flat.length; i += 2) record[String(flat[i])] = flat[i + 1]
  return record
}

/** A real HTTP request on a fresh connection (no keep-alive socket left behind). */
function postJson(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, baseUrl), { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }))
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}
