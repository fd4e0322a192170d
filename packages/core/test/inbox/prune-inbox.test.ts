import { InvalidOptionError, migrate, processOnce, pruneInbox } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { beforeAll, beforeEach, expect, test } from 'vitest'

const t = useTestDatabase('prune')
const opts = () => ({ schema: t.schema })

beforeAll(async () => {
  await migrate(t.db, opts())
})

beforeEach(async () => {
  await sql`truncate ${sql.id(t.schema, 'inbox')}`.execute(t.db)
  for (const [id, consumer, ageHours] of [
    ['old-1', '', 48],
    ['old-2', 'billing', 48],
    ['mid', '', 12],
    ['new', '', 0],
  ] as const) {
    await processOnce(t.db, id, async () => {}, { ...opts(), consumer })
    await sql`update ${sql.id(t.schema, 'inbox')} set processed_at = now() - make_interval(hours => ${ageHours})
              where message_id = ${id}`.execute(t.db)
  }
})

async function remaining(): Promise<string[]> {
  const rows = await t.db.selectFrom(`${t.schema}.inbox`).select('message_id').orderBy('message_id').execute()
  return rows.map((r) => r.message_id)
}

test('pruneInbox deletes the records older than an age in ms and returns how many', async () => {
  expect(await pruneInbox(t.db, { ...opts(), olderThan: 24 * 3600_000 })).toBe(2)
  expect(await remaining()).toEqual(['mid', 'new'])
})

test('pruneInbox accepts a Date as the cut-off', async () => {
  expect(await pruneInbox(t.db, { ...opts(), olderThan: new Date(Date.now() - 6 * 3600_000) })).toBe(3)
  expect(await remaining()).toEqual(['new'])
})

test('pruneInbox with a consumer removes only that consumer’s records', async () => {
  expect(await pruneInbox(t.db, { ...opts(), olderThan: 24 * 3600_000, consumer: 'billing' })).toBe(1)
  expect(await remaining()).toEqual(['mid', 'new', 'old-1'])
})

test('a pruned message id is processed again when redelivered', async () => {
  await pruneInbox(t.db, { ...opts(), olderThan: 24 * 3600_000 })
  expect((await processOnce(t.db, 'old-1', async () => 'again', opts())).status).toBe('processed')
  expect((await processOnce(t.db, 'new', async () => 'again', opts())).status).toBe('duplicate')
})

test('pruneInbox rejects a missing or invalid olderThan with a typed error', async () => {
  await expect(pruneInbox(t.db, { ...opts() } as never)).rejects.toMatchObject({ option: 'olderThan' })
  await expect(pruneInbox(t.db, { ...opts(), olderThan: -1 })).rejects.toBeInstanceOf(InvalidOptionError)
  await expect(pruneInbox(t.db, { ...opts(), olderThan: new Date('nope') })).rejects.toBeInstanceOf(InvalidOptionError)
  await expect(pruneInbox(t.db, { ...opts(), olderThan: '1d' } as never)).rejects.toBeInstanceOf(InvalidOptionError)
  expect(await remaining()).toHaveLength(4)
})
