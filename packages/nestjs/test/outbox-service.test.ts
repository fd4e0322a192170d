import type { DynamicModule } from '@nestjs/common'
import type { TestingModule } from '@nestjs/testing'
import { InvalidMessageError, migrate, NotInTransactionError } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OutboxService, TxboxModule } from '../src/index.js'
import { compileApp, SignUps } from './typeorm-app.js'

const t = useTestDatabase('nest_outbox')
let app: TestingModule

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  await t.db.schema.createTable('users').addColumn('id', 'serial', (c) => c.primaryKey()).addColumn('email', 'text', (c) => c.notNull()).execute()
  // A process that only enqueues: no relay, so the rows stay where the tests read them.
  app = await compileApp({ url: t.url, schema: t.schema, txbox: () => TxboxModule.forRoot({ schema: t.schema }) })
  await app.init()
})

afterAll(async () => {
  await app?.close()
})

async function outboxRows(): Promise<{ message_id: string; topic: string; key: string | null; payload: unknown }[]> {
  return (await t.db.withSchema(t.schema).selectFrom('outbox').select(['message_id', 'topic', 'key', 'payload']).orderBy('id').execute()) as never
}

async function userId(email: string): Promise<number | undefined> {
  const row = await t.db.withSchema(t.schema).selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()
  return row?.id as number | undefined
}

describe('OutboxService.enqueue in a @Transactional() method', () => {
  it('records the message in the transaction of @nestjs-cls/transactional: it commits with the user', async () => {
    const [messageId] = await app.get(SignUps).signUp('ada@example.com')
    const id = await userId('ada@example.com')
    expect(id).toBeDefined()
    expect((await outboxRows()).find((r) => r.message_id === messageId)).toEqual({
      message_id: messageId,
      topic: 'email.welcome',
      key: `user:${id}`,
      payload: { userId: id, email: 'ada@example.com' },
    })
  })

  it('leaves nothing when the method throws: the message rolls back with the user', async () => {
    const before = await outboxRows()
    await expect(app.get(SignUps).signUp('bob@example.com', { fail: true })).rejects.toThrow('the sign-up failed after the enqueue')
    expect(await userId('bob@example.com')).toBeUndefined()
    expect(await outboxRows()).toEqual(before)
  })

  it('refuses bad input with a typed error and leaves the transaction usable: the rest of the method commits', async () => {
    const before = await outboxRows()
    const error = await app.get(SignUps).signUpAfterBadEnqueue('carol@example.com')
    expect(error).toBeInstanceOf(InvalidMessageError)
    expect(await userId('carol@example.com')).toBeDefined()
    expect(await outboxRows()).toEqual(before)
  })

  it('throws NotInTransactionError outside a transaction, naming @Transactional() and txHost.withTransaction', async () => {
    const before = await outboxRows()
    const error = await app
      .get(SignUps)
      .enqueueOutsideTransaction()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotInTransactionError)
    expect((error as Error).message).toMatch(/^OutboxService\.enqueue\(message\) was called outside a transaction/)
    expect((error as Error).message).toContain('@Transactional()')
    expect((error as Error).message).toContain('txHost.withTransaction(async () =>')
    expect(await outboxRows()).toEqual(before)
  })

  it('names the connectionName it looked for when no plugin registered that connection', async () => {
    const named = await compileApp({ url: t.url, schema: t.schema, txbox: () => TxboxModule.forRoot({ schema: t.schema, connectionName: 'orders' }) })
    try {
      const error = await named
        .get(OutboxService)
        .enqueue({ topic: 'email.welcome', payload: {} })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NotInTransactionError)
      // No plugin registered that connection: the error says which plugin to register.
      expect((error as Error).message).toContain('found no TransactionHost with connectionName "orders"')
      expect((error as Error).message).toContain('ClsPluginTransactional')
    } finally {
      await named.close()
    }
  })

  it('throws NotInTransactionError naming ClsPluginTransactional when the application registered none', async () => {
    const withoutPlugin = await compileApp({ url: t.url, schema: t.schema, transactional: false, txbox: (): DynamicModule => TxboxModule.forRoot({ schema: t.schema }) })
    try {
      const error = await withoutPlugin
        .get(OutboxService)
        .enqueue({ topic: 'email.welcome', payload: {} })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NotInTransactionError)
      expect((error as Error).message).toMatch(/found no TransactionHost.*register the @nestjs-cls\/transactional plugin/)
    } finally {
      await withoutPlugin.close()
    }
  })
})
