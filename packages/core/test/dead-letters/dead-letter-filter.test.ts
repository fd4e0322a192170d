import { InvalidOptionError, migrate, purgeDeadLetters, retryDeadLetters } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { beforeAll, beforeEach, expect, test } from 'vitest'

// retryDeadLetters and purgeDeadLetters with a filter: what the dashboard's "all matching" runs.
const t = useTestDatabase('deadfilter')
const dead = () => sql.id(t.schema, 'outbox_dead')

beforeAll(() => migrate(t.db, { schema: t.schema }))
beforeEach(async () => {
  await sql`TRUNCATE ${dead()}, ${sql.id(t.schema, 'outbox')}`.execute(t.db)
  await sql`INSERT INTO ${dead()} (id, message_id, topic, key, payload, attempts, last_error, created_at, dead_at) VALUES
    (1, 'm1', 'a', 'k1', '{}', 3, 'Timeout after 5s', now(), now() - interval '2 hours'),
    (2, 'm2', 'a', 'k1', '{}', 3, '100% full', now(), now()),
    (3, 'm3', 'a', 'k2', '{}', 3, 'timeout', now(), now()),
    (4, 'm4', 'b', 'k1', '{}', 3, NULL, now(), now())`.execute(t.db)
})

const left = async () => (await sql<{ message_id: string }>`SELECT message_id FROM ${dead()} ORDER BY id`.execute(t.db)).rows.map((r) => r.message_id)

test('a filter matches every field given: topic, key, error text (case-insensitive), dead time', async () => {
  const since = new Date(Date.now() - 60 * 60 * 1000)
  const result = await retryDeadLetters(t.db, { kind: 'filter', filter: { topic: 'a', errorContains: 'TIMEOUT', deadFrom: since } }, { schema: t.schema })
  expect(result.retried.map((d) => d.messageId)).toEqual(['m3'])
  expect(await left()).toEqual(['m1', 'm2', 'm4'])
})

test('error text is taken literally: % and _ are no wildcards', async () => {
  expect((await purgeDeadLetters(t.db, { kind: 'filter', filter: { errorContains: '0% f' } }, { schema: t.schema })).map((d) => d.messageId)).toEqual(['m2'])
  expect(await purgeDeadLetters(t.db, { kind: 'filter', filter: { errorContains: '%' , key: 'k2' } }, { schema: t.schema })).toEqual([])
  expect(await left()).toEqual(['m1', 'm3', 'm4'])
})

test('an empty filter selects every dead letter', async () => {
  expect((await purgeDeadLetters(t.db, { kind: 'filter', filter: {} }, { schema: t.schema })).length).toBe(4)
})

test('a malformed selection is InvalidOptionError, and nothing changes', async () => {
  await expect(retryDeadLetters(t.db, { kind: 'filter', filter: { deadFrom: new Date('nope') } }, { schema: t.schema })).rejects.toThrow(InvalidOptionError)
  await expect(purgeDeadLetters(t.db, { kind: 'ids', ids: [1 as unknown as string] }, { schema: t.schema })).rejects.toThrow(/ids must be an array of message id strings/)
  await expect(purgeDeadLetters(t.db, { kind: 'everything' } as never, { schema: t.schema })).rejects.toThrow(/unknown selection kind "everything"/)
  expect(await left()).toEqual(['m1', 'm2', 'm3', 'm4'])
})
