import { AsyncLocalStorage } from 'node:async_hooks'
import { type Context, type ContextManager, context, propagation, ROOT_CONTEXT, type TextMapPropagator, createContextKey } from '@opentelemetry/api'
import { enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, expect, test } from 'vitest'

const t = useTestDatabase('trace')
const TRACEPARENT = createContextKey('test traceparent')

// A minimal context manager and W3C-style propagator, standing in for the
// OpenTelemetry SDK a user would register.
class TestContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>()
  active = () => this.storage.getStore() ?? ROOT_CONTEXT
  with = <A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) =>
    this.storage.run(ctx, () => fn.call(thisArg, ...args))
  bind = <T>(_ctx: Context, target: T) => target
  enable = () => this
  disable = () => this
}
const propagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const value = ctx.getValue(TRACEPARENT)
    if (typeof value === 'string') setter.set(carrier, 'traceparent', value)
  },
  extract: (ctx) => ctx,
  fields: () => ['traceparent'],
}

beforeAll(async () => {
  context.setGlobalContextManager(new TestContextManager())
  propagation.setGlobalPropagator(propagator)
  await migrate(t.db, { schema: t.schema })
})
afterAll(() => {
  propagation.disable()
  context.disable()
})

test('the W3C trace context active at enqueue is carried in the message headers', async () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  await context.with(ROOT_CONTEXT.setValue(TRACEPARENT, traceparent), () =>
    withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [
        { topic: 'traced', payload: 1 },
        { topic: 'traced', payload: 2, headers: { 'x-tenant': 'acme' } },
      ], { schema: t.schema }),
    ),
  )
  await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'untraced', payload: 3 }, { schema: t.schema }))
  const { rows } = await sql<{ headers: Record<string, string> | null }>`select headers from ${sql.id(t.schema, 'outbox')} order by id`.execute(t.db)
  expect(rows.map((r) => r.headers)).toEqual([{ traceparent }, { traceparent, 'x-tenant': 'acme' }, null])
})
