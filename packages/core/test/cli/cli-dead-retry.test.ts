import { createRelay, enqueueOnCommit, migrate, type OutboxMessageInput, withTransaction } from '@txbox/core'
import { recordingPublisher, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { resolveTableNames } from '../../src/schema/table-names.js'
import { ensureCliBuilt, runCli, startCli } from './cli-process.js'
import { deadLetterFixture } from './dead-letter-fixture.js'

// `txbox dead retry` and `txbox dead purge`: they act on exactly the dead
// letters they selected, a retry moves exactly what it deletes, and a retried
// message takes its key's lock, as an enqueue does.

// Two writers, the test's own queries and the fixture's relay at once.
const t = useTestDatabase('clidead', { poolSize: 6 })
const env = (url = t.url) => ({ DATABASE_URL: url })
const txbox = (...args: string[]) => runCli([...args, '--schema', t.schema], { env: env() })
const { enqueue, makeDead, outboxRows, deadRows, clear } = deadLetterFixture(t)

beforeAll(async () => {
  await ensureCliBuilt()
  await migrate(t.db, { schema: t.schema })
}, 180_000)
beforeEach(clear)

/** A transaction that enqueued `messages` (holding their keys' locks) and commits when told to. */
async function openWriter(messages: OutboxMessageInput[]): Promise<{ ids: string[]; commit(): Promise<void> }> {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let enqueued!: (ids: string[]) => void
  const ready = new Promise<string[]>((resolve) => {
    enqueued = resolve
  })
  const done = withTransaction(t.db, async (trx) => {
    enqueued(await enqueueOnCommit(trx, messages, { schema: t.schema }))
    await gate
  })
  const ids = await Promise.race([ready, done.then(() => [] as string[])])
  return {
    ids,
    async commit() {
      release()
      await done
    },
  }
}

/** True once a session waits for the key lock of `key` (the lock space enqueue uses). */
async function someoneWaitsForKeyLock(key: string): Promise<boolean> {
  const { rows } = await sql<{ waiting: number }>`
    select count(*)::int as waiting from pg_locks
    where locktype = 'advisory' and not granted and objsubid = 2
      and classid = ${resolveTableNames({ schema: t.schema }).locks.keys}::bigint::oid
      and objid = (hashtext(${key})::bigint & 4294967295)::oid`.execute(t.db)
  return (rows[0]?.waiting ?? 0) > 0
}

describe('txbox dead retry moves exactly what it deletes', () => {
  test('two dead letters with one message id: the oldest goes back, the other stays dead and is named, exit 1', async () => {
    await makeDead([{ messageId: 'dup-1', topic: 'orders', key: 'k', payload: { n: 1 } }])
    await makeDead([{ messageId: 'dup-1', topic: 'orders', key: 'k', payload: { n: 2 } }])

    const result = await txbox('dead', 'retry', '--id', 'dup-1')
    expect((await outboxRows()).map((r) => [r.message_id, r.payload])).toEqual([['dup-1', { n: 1 }]])
    expect((await deadRows()).map((r) => [r.message_id, r.payload])).toEqual([['dup-1', { n: 2 }]])
    expect(result.stdout).toBe('moved 1 dead letter(s) back into the outbox\n')
    expect(result.stderr).toMatch(/^txbox: kept 1 dead letter\(s\) whose message id another dead letter just took back into the outbox .*: dup-1\n$/)
    expect(result.code).toBe(1)

    // Once the first is published, the second can go.
    const publisher = recordingPublisher()
    expect(await createRelay({ db: t.db, publisher, schema: t.schema }).runOnce()).toBe(1)
    const again = await txbox('dead', 'retry', '--id', 'dup-1')
    expect([again.code, again.stdout, again.stderr]).toEqual([0, 'moved 1 dead letter(s) back into the outbox\n', ''])
    expect((await outboxRows()).map((r) => [r.message_id, r.payload])).toEqual([['dup-1', { n: 2 }]])
    expect(await deadRows()).toEqual([])
  })

  test('a dead letter whose message id a new message took stays dead and is named; the others move; exit 1', async () => {
    const [reused, other] = await makeDead([
      { messageId: 'reused-1', topic: 'orders', key: 'k', payload: { old: true } },
      { topic: 'orders', key: 'k2', payload: { other: true } },
    ])
    await enqueue([{ messageId: reused as string, topic: 'orders', key: 'k', payload: { new: true } }])

    const result = await txbox('dead', 'retry', '--all', '--yes')
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('moved 1 dead letter(s) back into the outbox\n')
    expect(result.stderr).toMatch(/^txbox: kept 1 dead letter\(s\) whose message id is taken by a message in the outbox .*: reused-1\n$/)
    expect((await outboxRows()).map((r) => [r.message_id, r.payload])).toEqual([
      ['reused-1', { new: true }],
      [other, { other: true }],
    ])
    expect((await deadRows()).map((r) => [r.message_id, r.payload])).toEqual([['reused-1', { old: true }]])
  })

  test('--all with duplicates and taken ids: every dead letter ends either back in the outbox or still dead, none lost', async () => {
    await makeDead([
      { messageId: 'a', topic: 'x', payload: 1 },
      { messageId: 'b', topic: 'x', payload: 2 },
    ])
    await makeDead([
      { messageId: 'a', topic: 'x', payload: 3 },
      { messageId: 'c', topic: 'x', payload: 4 },
    ])
    await enqueue([{ messageId: 'c', topic: 'x', payload: 5 }])

    const result = await txbox('dead', 'retry', '--all', '--yes')
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('moved 2 dead letter(s) back into the outbox\n')
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^txbox: kept 1 dead letter\(s\) whose message id is taken by a message in the outbox .*: c$/),
      expect.stringMatching(/^txbox: kept 1 dead letter\(s\) whose message id another dead letter just took back .*: a$/),
    ])
    const outbox = await outboxRows()
    const dead = await deadRows()
    expect(outbox.map((r) => [r.message_id, r.payload]).sort()).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 5],
    ])
    expect(dead.map((r) => [r.message_id, r.payload])).toEqual([
      ['a', 3],
      ['c', 4],
    ])
  })

  test('a dead letter is retried under its key lock: its new id is in commit order with a concurrent writer of the key', async () => {
    // d1 (key k1) is dead; writer w1 holds k1's lock, so the retry waits for it.
    const [d1] = await makeDead([{ topic: 'orders', key: 'k1', payload: 'd1' }])
    const w1 = await openWriter([{ topic: 'orders', key: 'k1', payload: 'w1' }])
    const retry = startCli(['dead', 'retry', '--topic', 'orders', '--yes', '--schema', t.schema], { env: env() })
    await waitFor(() => someoneWaitsForKeyLock('k1'), { timeoutMs: 15_000, message: 'the retry waits for the lock of key k1' })

    // Meanwhile, d2 (key k2) dies, and writer w2 enqueues on k2 (its id drawn, not committed).
    const [d2] = await makeDead([{ topic: 'orders', key: 'k2', payload: 'd2' }])
    const w2 = await openWriter([{ topic: 'orders', key: 'k2', payload: 'w2' }])

    await w1.commit()
    const result = await retry.exited
    await w2.commit()
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)

    // Commit order: w1, then the retry, then w2. Per key, the outbox's id order must follow it.
    const moved = (await outboxRows()).filter((r) => r.message_id === d1 || r.message_id === d2).map((r) => r.message_id)
    const commitOrder = [...w1.ids, ...moved, ...w2.ids]
    const rows = await outboxRows()
    for (const key of ['k1', 'k2']) {
      const byId = rows.filter((r) => r.key === key).map((r) => r.message_id)
      expect(byId, `key ${key} in id order`).toEqual(commitOrder.filter((id) => byId.includes(id)))
    }
    // The retry moved what it selected before it waited: d1. d2 died after; it stays dead.
    expect(moved).toEqual([d1])
    expect(result.stdout).toBe('moved 1 dead letter(s) back into the outbox\n')
    expect((await deadRows()).map((r) => r.message_id)).toEqual([d2])
  })

  test('with default_transaction_isolation = serializable, a message id a concurrent writer takes keeps its dead letter, reported (no serialization failure)', async () => {
    const [id] = await makeDead([{ messageId: 'taken-1', topic: 'orders', key: 'k', payload: { old: true } }])
    const writer = await openWriter([{ messageId: id as string, topic: 'orders', key: 'k', payload: { new: true } }])
    const url = new URL(t.url)
    url.searchParams.set('options', '-c default_transaction_isolation=serializable')
    const retry = startCli(['dead', 'retry', '--id', id as string, '--schema', t.schema], { env: env(url.toString()) })
    await waitFor(() => someoneWaitsForKeyLock('k'), { timeoutMs: 15_000, message: 'the retry waits for the lock of key k' })
    await writer.commit()
    const result = await retry.exited
    expect(result.stderr).toMatch(/^txbox: kept 1 dead letter\(s\) whose message id is taken by a message in the outbox .*: taken-1\n$/)
    expect(result.code).toBe(1)
    expect((await outboxRows()).map((r) => [r.message_id, r.payload])).toEqual([['taken-1', { new: true }]])
    expect((await deadRows()).map((r) => [r.message_id, r.payload])).toEqual([['taken-1', { old: true }]])
  })
})

describe('one outcome for ids that match no dead letter', () => {
  test('txbox dead retry --id nope: one line on stderr naming it, nothing on stdout, exit 1', async () => {
    const result = await txbox('dead', 'retry', '--id', 'nope')
    expect([result.code, result.stdout, result.stderr]).toEqual([1, '', 'txbox: no dead letter with message id nope\n'])
  })

  test('txbox dead purge --id nope --yes: the same', async () => {
    const result = await txbox('dead', 'purge', '--id', 'nope', '--yes')
    expect([result.code, result.stdout, result.stderr]).toEqual([1, '', 'txbox: no dead letter with message id nope\n'])
  })
})

describe('txbox dead purge selects as retry does', () => {
  test('--id deletes every dead letter with that message id', async () => {
    await makeDead([{ messageId: 'p-1', topic: 'orders', payload: 1 }])
    await makeDead([{ messageId: 'p-1', topic: 'orders', payload: 2 }])
    const [keep] = await makeDead([{ topic: 'orders', payload: 3 }])
    const result = await txbox('dead', 'purge', '--id', 'p-1', '--yes')
    expect([result.code, result.stdout, result.stderr]).toEqual([0, 'deleted 2 dead letter(s)\n', ''])
    expect((await deadRows()).map((r) => r.message_id)).toEqual([keep])
  })
})
