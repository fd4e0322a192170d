// The race, end to end, through a NestJS app: real HTTP, PostgreSQL and Redis.
// The sign-up writes the user and enqueues its welcome email in one
// @Transactional() method; the worker must find the user for every message,
// and a sign-up that rolls back must send nothing.
import 'reflect-metadata'
import type { AddressInfo } from 'node:net'
import type { INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import type { Relay } from '@txbox/core'
import { TXBOX_RELAY } from '@txbox/nestjs'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WELCOME_TOPIC } from '../src/app-config.js'
import { AppModule } from '../src/app.module.js'
import { Mailer } from '../src/mailer.js'
import { WelcomeWorker } from '../src/welcome-worker.js'

const t = useTestDatabase('nestjs_app')
const streamPrefix = `${uniqueName('nestjs_app')}:`
const stream = `${streamPrefix}${WELCOME_TOPIC}`
let app: INestApplication
let redis: Redis
let baseUrl: string

beforeAll(async () => {
  redis = new Redis(serviceUrls().redisUrl)
  app = await NestFactory.create(
    AppModule.forRoot({ databaseUrl: t.url, redisUrl: serviceUrls().redisUrl, schema: t.schema, txboxSchema: t.schema, streamPrefix, restOfRequestMs: 150 }),
    { logger: ['error', 'warn'] },
  )
  await app.listen(0, '127.0.0.1') // bootstraps: tables created, relay and worker started
  baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`
  await t.db.withSchema(t.schema).insertInto('invites').values({ code: 'WELCOME-1' }).execute()
})

afterAll(async () => {
  await app?.close() // stops the relay and the worker, then closes Prisma, the relay's pool and Redis
  await redis?.del(stream, `${stream}:dead`)
  await redis?.quit()
})

describe('NestJS + Prisma: POST /signup with @Transactional() and OutboxService', () => {
  it('the worker finds the user for every message: 10 concurrent sign-ups, 10 welcome emails, each sent once', async () => {
    const emails = Array.from({ length: 10 }, (_, i) => `user${i}@example.com`)
    const responses = await Promise.all(emails.map((email) => postJson('/signup', { email })))
    expect(responses.map((r) => r.status)).toEqual(emails.map(() => 201))

    const mailer = app.get(Mailer)
    await waitFor(() => emails.every((email) => mailer.sent.some((m) => m.to === email)), { timeoutMs: 15_000, message: 'every welcome email sent' })
    await drained()
    const deliveries = app.get(WelcomeWorker).deliveries
    expect(deliveries.filter((d) => !d.userFound)).toEqual([]) // never "user does not exist"
    expect(mailer.sent.filter((m) => emails.includes(m.to)).map((m) => m.to).sort()).toEqual([...emails].sort())
    const rows = await t.db.withSchema(t.schema).selectFrom('welcome_emails').select('user_id').execute()
    expect(rows).toHaveLength(10)
  })

  it('a sign-up that rolls back (a bad invite code, after the enqueue) leaves no user and sends nothing', async () => {
    const refused = await postJson('/signup', { email: 'mallory@example.com', inviteCode: 'NO-SUCH-CODE' })
    expect(refused.status).toBe(422)
    // A sign-up committed after it: once its email is out, the relay and the worker are past the refused one too.
    const accepted = await postJson('/signup', { email: 'erin@example.com', inviteCode: 'WELCOME-1' })
    expect(accepted.status).toBe(201)
    const mailer = app.get(Mailer)
    await waitFor(() => mailer.sent.some((m) => m.to === 'erin@example.com'), { timeoutMs: 15_000, message: "erin's welcome email sent" })
    await drained()

    expect(mailer.sent.filter((m) => m.to === 'mallory@example.com')).toEqual([])
    const users = await t.db.withSchema(t.schema).selectFrom('users').select('email').where('email', 'in', ['mallory@example.com', 'erin@example.com']).execute()
    expect(users.map((u) => u.email)).toEqual(['erin@example.com'])
    const invite = await t.db.withSchema(t.schema).selectFrom('invites').select('redeemed_by').where('code', '=', 'WELCOME-1').executeTakeFirstOrThrow()
    expect(invite.redeemed_by).toBe((accepted.body as { id: number }).id)
  })

  it('answers 409 for an email already registered and 400 for a body without an email, and sends nothing more', async () => {
    const sentBefore = app.get(Mailer).sent.length
    expect((await postJson('/signup', { email: 'user0@example.com' })).status).toBe(409)
    expect((await postJson('/signup', { name: 'no email' })).status).toBe(400)
    await drained()
    expect(app.get(Mailer).sent).toHaveLength(sentBefore)
    expect((await app.get<Relay>(TXBOX_RELAY).metrics()).backlog).toBe(0)
  })
})

/** The relay has nothing left and the worker's group has read and acknowledged everything. */
async function drained(): Promise<void> {
  const relay = app.get<Relay>(TXBOX_RELAY)
  await waitFor(
    async () => {
      if ((await relay.metrics()).backlog > 0) return false
      const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][]
      const group = groups.map(toRecord).find((g) => g.name === 'welcome-mailer')
      return group !== undefined && group.pending === 0 && group.lag === 0
    },
    { timeoutMs: 15_000, message: 'the relay and the worker drained' },
  )
}

function toRecord(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {}
  for (let i = 0; i < flat.length; i += 2) record[String(flat[i])] = flat[i + 1]
  return record
}

/** A real HTTP request; `connection: close` leaves no keep-alive socket behind. */
async function postJson(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}
