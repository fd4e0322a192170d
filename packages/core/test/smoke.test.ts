import { enqueueOnCommit, migrate, withTransaction, createRelay, type Publisher, type OutboxMessage } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { expect, test } from 'vitest'

const t = useTestDatabase('smoke')

test('a committed message is published', async () => {
  await migrate(t.db, { schema: t.schema })
  await withTransaction(t.db, async (trx) => {
    await enqueueOnCommit(trx, { topic: 'a', key: 'k', payload: { n: 1 } }, { schema: t.schema })
  })
  const got: OutboxMessage[] = []
  const publisher: Publisher = { async publish(ms) { got.push(...ms); return ms.map(() => ({ ok: true })) } }
  const relay = createRelay({ db: t.db, publisher, schema: t.schema })
  expect(await relay.runOnce()).toBe(1)
  expect(got[0]?.payload).toBe('{"n": 1}')
})
