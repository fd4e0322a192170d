import { createRelay, migrationSql, silentLogger } from '@txbox/core'
import { recordingPublisher, useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'
import { migrations } from '../../src/schema/migrations.js'
import { ensureCliBuilt, runCli, runCliWithLateReader } from './cli-process.js'
import { deadLetterFixture } from './dead-letter-fixture.js'

const LATEST = migrations.at(-1)?.version

const t = useTestDatabase('cli')
const env = () => ({ DATABASE_URL: t.url })
const txbox = (...args: string[]) => runCli([...args, '--schema', t.schema], { env: env() })
const { enqueue, makeDead, clear } = deadLetterFixture(t)
/** `txbox` into a pipe nobody reads until it is full, as `txbox ... | jq` before jq started. */
const txboxIntoLatePipe = (...args: string[]) => runCliWithLateReader([...args, '--schema', t.schema], { env: env() })

beforeAll(ensureCliBuilt, 180_000)

async function tables(): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${t.schema} order by 1`.execute(t.db)
  return rows.map((r) => r.table_name)
}

describe('txbox migrate', () => {
  test('--print-sql prints the migration SQL for the schema without touching a database', async () => {
    const result = await runCli(['migrate', '--print-sql', '--schema', 'events'], { env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x' } })
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(migrationSql({ schema: 'events' }))
    expect(result.stdout).toContain('CREATE TABLE IF NOT EXISTS "events"."outbox"')
  })

  test('creates the tables, then reports the schema up to date', async () => {
    const first = await txbox('migrate')
    expect(first.code).toBe(0)
    expect(first.stdout).toBe(`schema "${t.schema}" migrated from version 0 to ${LATEST}\n`)
    expect(await tables()).toEqual(expect.arrayContaining(['outbox', 'outbox_dead', 'inbox', 'txbox_migrations']))
    const second = await txbox('migrate')
    expect(second.code).toBe(0)
    expect(second.stdout).toBe(`schema "${t.schema}" is up to date (version ${LATEST})\n`)
  })
})

describe('with the tables', () => {
  beforeAll(async () => {
    await txbox('migrate')
  })

  test('txbox status --json reports the backlog, its age, counts per topic and the dead letters', async () => {
    await clear()
    await makeDead([{ topic: 'orders', key: 'o-1', payload: { n: 0 } }])
    await enqueue([
      { topic: 'orders', key: 'o-1', payload: { n: 1 } },
      { topic: 'orders', key: 'o-2', payload: { n: 2 } },
      { topic: 'email', payload: { n: 3 }, delay: 3_600_000 },
    ])
    await sql`update ${sql.id(t.schema, 'outbox')} set created_at = now() - interval '90 seconds' where payload->>'n' = '1'`.execute(t.db)
    const result = await txbox('status', '--json')
    expect(result.code).toBe(0)
    const status = JSON.parse(result.stdout)
    expect(status).toMatchObject({ schema: t.schema, backlog: 3, dead: 1 })
    expect(status.oldestAgeMs).toBeGreaterThanOrEqual(90_000)
    expect(status.oldestAgeMs).toBeLessThan(600_000)
    expect(status.topics).toEqual([
      { topic: 'email', backlog: 1, ready: 0, retrying: 0, delayed: 1, heldBack: 0, dead: 0, oldestAgeMs: expect.any(Number), lastError: null },
      { topic: 'orders', backlog: 2, ready: 2, retrying: 0, delayed: 0, heldBack: 0, dead: 1, oldestAgeMs: expect.any(Number), lastError: null },
    ])
  })

  test('txbox status prints the same numbers as a table', async () => {
    await clear()
    await enqueue([
      { topic: 'orders', payload: 1 },
      { topic: 'orders', payload: 2 },
    ])
    const result = await txbox('status')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^backlog +2 \(oldest /m)
    expect(result.stdout).toMatch(/^dead letters +0$/m)
    expect(result.stdout).toMatch(/^orders +2 +2 +0 +0 +0 +\S+/m)
  })

  test('txbox dead list shows the dead letters, filtered by topic, as a table or JSON', async () => {
    await clear()
    const [a, b] = await makeDead([
      { topic: 'orders', key: 'k', payload: { a: 1 }, headers: { h: 'v' } },
      { topic: 'email', payload: { b: 2 } },
    ])
    const table = await txbox('dead', 'list')
    expect(table.code).toBe(0)
    expect(table.stdout).toContain(a)
    expect(table.stdout).toContain(b)
    expect(table.stdout).toMatch(/broker said no/)
    const json = await txbox('dead', 'list', '--topic', 'orders', '--json')
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ messageId: a, topic: 'orders', key: 'k', attempts: 1, payload: { a: 1 }, headers: expect.objectContaining({ h: 'v' }) }),
    ])
    const limited = await txbox('dead', 'list', '--limit', '1')
    expect(limited.stdout).toMatch(/1 of 2 shown/)
  })

  test('txbox status shows why messages wait: the most recent error of each topic, whole in --json, cut to one line in the table', async () => {
    await clear()
    const outbox = sql.id(t.schema, 'outbox')
    // m1 waits (delayed) while m2 fails first; then m1 fails: m1, the lower id, holds the most recent error.
    const [m1] = await enqueue([{ topic: 'orders', payload: { n: 1 }, delay: 3_600_000 }])
    await enqueue([{ topic: 'orders', payload: { n: 2 } }])
    await enqueue([{ topic: 'email', payload: { n: 3 }, delay: 3_600_000 }])
    const publisher = recordingPublisher()
    const relay = createRelay({ db: t.db, publisher, schema: t.schema, backoff: () => 3_600_000, logger: silentLogger })
    publisher.failWhen(() => new Error('connection reset by the broker (the older error)'))
    await relay.runOnce()
    await sql`update ${outbox} set available_at = null where message_id = ${m1}`.execute(t.db)
    const cause = `WRONGTYPE Operation against a key holding the wrong kind of value ${'x'.repeat(200)}`
    publisher.failWhen(() => new Error(`message ${m1} was not written to stream "orders": XADD failed\n(${cause})`))
    await relay.runOnce()
    expect(publisher.calls.map((call) => call.map((m) => m.payload))).toEqual([['{"n": 2}'], ['{"n": 1}']])

    const json = await txbox('status', '--json')
    expect(json.code).toBe(0)
    const topics = JSON.parse(json.stdout).topics
    expect(topics).toEqual([
      expect.objectContaining({ topic: 'email', lastError: null }),
      expect.objectContaining({ topic: 'orders', retrying: 2, lastError: `Error: message ${m1} was not written to stream "orders": XADD failed\n(${cause})` }),
    ])
    const table = await txbox('status')
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/ LAST ERROR$/m)
    const row = table.stdout.split('\n').find((line) => line.startsWith('orders')) ?? ''
    expect(row).toMatch(/ Error: the message was not written to stream "orders": XADD failed \(WRONGTYPE Operation against/)
    expect(row).not.toContain(m1)
    expect(row).not.toContain('older error')
    expect(row).toMatch(/…$/)
    expect(row.length).toBeLessThan(240)
    expect(table.stdout.split('\n').find((line) => line.startsWith('email'))).toMatch(/ -$/)
  })

  test('txbox dead list shows the cause, not the message id again: whole in --json, cut in the table', async () => {
    await clear()
    const refusal = (m: { messageId: string }) =>
      new Error(`message ${m.messageId} was not written to stream "orders": XADD failed (WRONGTYPE Operation against a key holding the wrong kind of value). ${'More. '.repeat(40)}`)
    const [id] = await makeDead([{ topic: 'orders', payload: { a: 1 } }], refusal)
    const json = await txbox('dead', 'list', '--json')
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ messageId: id, lastError: `Error: ${refusal({ messageId: id as string }).message}` })])
    const table = await txbox('dead', 'list')
    expect(table.code).toBe(0)
    const row = table.stdout.split('\n').find((line) => line.includes(id as string)) ?? ''
    expect(row.split(id as string)).toHaveLength(2) // the id once, in its own column
    expect(row).toMatch(/XADD failed \(WRONGTYPE Operation against a key holding the wrong kind of value\)/)
    expect(row).toMatch(/…$/)
    expect(row.length).toBeLessThan(260)
  })

  test('txbox dead list sorts dead letters by id as a number: the 10th after the 9th, and --limit keeps the oldest', async () => {
    await clear()
    await sql`
      insert into ${sql.id(t.schema, 'outbox_dead')} (id, message_id, topic, key, payload, headers, attempts, last_error, created_at)
      select n, 'dead-' || n, 'orders', null, to_jsonb(n), '{}'::jsonb, 1, 'broker said no', now()
      from generate_series(1, 11) n`.execute(t.db)
    const all = await txbox('dead', 'list', '--json')
    expect(JSON.parse(all.stdout).map((d: { id: string }) => d.id)).toEqual(Array.from({ length: 11 }, (_, i) => String(i + 1)))
    const first9 = await txbox('dead', 'list', '--json', '--limit', '9')
    expect(JSON.parse(first9.stdout).map((d: { messageId: string }) => d.messageId)).toEqual(Array.from({ length: 9 }, (_, i) => `dead-${i + 1}`))
    const table = await txbox('dead', 'list', '--limit', '9')
    expect(table.stdout.split('\n').filter((line) => line.startsWith('dead-')).map((line) => line.split(' ')[0])).toEqual(Array.from({ length: 9 }, (_, i) => `dead-${i + 1}`))
  })

  test('txbox status: a topic whose only message is delayed has no oldest due message, in its row as in the totals', async () => {
    await clear()
    // Enqueued six days ago, due in a day: waiting, but not late.
    await enqueue([{ topic: 'reminders', payload: { n: 1 }, delay: 7 * 24 * 3_600_000 }])
    await sql`update ${sql.id(t.schema, 'outbox')} set created_at = now() - interval '6 days'`.execute(t.db)
    const json = await txbox('status', '--json')
    expect(json.code).toBe(0)
    const status = JSON.parse(json.stdout)
    expect(status).toMatchObject({ backlog: 1, oldestAgeMs: 0 })
    expect(status.topics).toEqual([{ topic: 'reminders', backlog: 1, ready: 0, retrying: 0, delayed: 1, heldBack: 0, dead: 0, oldestAgeMs: 0, lastError: null }])
    const table = await txbox('status')
    expect(table.code).toBe(0)
    // Not "6d 00h" (the schema name in the header may hold "6d": it is random hex).
    expect(table.stdout).not.toMatch(/\b6d \d\dh\b/)
    expect(table.stdout).toMatch(/^reminders +1 +0 +0 +0 +1 +0 +- +-$/m)
  })

  test('txbox status counts the messages held back behind their key\'s failed message apart from the delayed ones', async () => {
    await clear()
    const o = sql.id(t.schema, 'outbox')
    await sql`insert into ${o} (message_id, topic, key, payload, attempts, available_at, last_error)
              values ('head', 'orders', 'k', '{}', 1, now() + interval '1 hour', 'Error: refused')`.execute(t.db)
    await enqueue([1, 2].map((n) => ({ topic: 'orders', key: 'k', payload: { n } })))
    // A relay claim passes over them and holds them back.
    const relay = createRelay({ db: t.db, publisher: recordingPublisher(), schema: t.schema, logger: silentLogger })
    expect(await relay.runOnce()).toBe(0)
    const status = JSON.parse((await txbox('status', '--json')).stdout)
    expect(status.topics).toEqual([
      expect.objectContaining({ topic: 'orders', backlog: 3, ready: 0, retrying: 1, delayed: 0, heldBack: 2 }),
    ])
  })

  test('txbox status: the totals oldestAgeMs is the oldest of the rows, both counting only messages that are due', async () => {
    await clear()
    await enqueue([
      { topic: 'a', payload: 1 },
      { topic: 'b', payload: 2 },
      { topic: 'b', payload: 3, delay: 3_600_000 },
    ])
    await sql`update ${sql.id(t.schema, 'outbox')} set created_at = now() - interval '2 hours' where payload = '3'::jsonb`.execute(t.db)
    await sql`update ${sql.id(t.schema, 'outbox')} set created_at = now() - interval '5 minutes' where payload = '2'::jsonb`.execute(t.db)
    const status = JSON.parse((await txbox('status', '--json')).stdout)
    const b = status.topics.find((row: { topic: string }) => row.topic === 'b')
    expect(b.oldestAgeMs).toBeGreaterThanOrEqual(300_000)
    expect(b.oldestAgeMs).toBeLessThan(3_600_000)
    expect(status.oldestAgeMs).toBe(Math.max(...status.topics.map((row: { oldestAgeMs: number }) => row.oldestAgeMs)))
  })

  test('piped output is written in full before the CLI exits: dead list --json and status --json past 64 KiB', async () => {
    await clear()
    // 400 dead letters of ~600 bytes each, and as many topics in the outbox: far more than a pipe's 64 KiB buffer.
    await sql`
      insert into ${sql.id(t.schema, 'outbox_dead')} (id, message_id, topic, key, payload, headers, attempts, last_error, created_at)
      select n, 'dead-' || n, 'topic-' || n || '-' || repeat('t', 100), null, jsonb_build_object('text', repeat('x', 500), 'n', n), '{}'::jsonb, 1, 'broker said no', now()
      from generate_series(1, 400) n`.execute(t.db)
    await enqueue(Array.from({ length: 400 }, (_, n) => ({ topic: `topic-${n}-${'y'.repeat(100)}`, payload: n })))
    const list = await txboxIntoLatePipe('dead', 'list', '--json', '--limit', '1000')
    expect(list.code).toBe(0)
    expect(list.stdout.length).toBeGreaterThan(128 * 1024)
    const dead = JSON.parse(list.stdout)
    expect(dead).toHaveLength(400)
    expect(new Set(dead.map((d: { messageId: string }) => d.messageId)).size).toBe(400)
    expect(dead.find((d: { messageId: string }) => d.messageId === 'dead-400')).toMatchObject({ payload: { n: 400 } })
    const table = await txboxIntoLatePipe('dead', 'list', '--limit', '1000')
    expect(table.code).toBe(0)
    expect(table.stdout.trimEnd().split('\n'), JSON.stringify(table).slice(0, 500)).toHaveLength(401)
    const status = await txboxIntoLatePipe('status', '--json')
    expect(status.code).toBe(0)
    expect(status.stdout.length).toBeGreaterThan(128 * 1024)
    expect(JSON.parse(status.stdout).topics).toHaveLength(800)
  })

  test('txbox dead retry moves a dead letter back as a new outbox row with the same message, and the relay delivers it', async () => {
    await clear()
    const [id, other] = await makeDead([
      { topic: 'orders', key: 'k-retry', payload: { p: 1 }, headers: { h: 'v' } },
      { topic: 'orders', payload: { p: 2 } },
    ])
    const before = await t.db.selectFrom(`${t.schema}.outbox_dead`).selectAll().where('message_id', '=', id as string).executeTakeFirstOrThrow()

    const result = await txbox('dead', 'retry', '--id', id as string)
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('moved 1 dead letter(s) back into the outbox\n')

    const dead = await t.db.selectFrom(`${t.schema}.outbox_dead`).select('message_id').execute()
    expect(dead.map((r) => r.message_id)).toEqual([other])
    const row = await t.db.selectFrom(`${t.schema}.outbox`).selectAll().where('message_id', '=', id as string).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ topic: 'orders', key: 'k-retry', payload: { p: 1 }, headers: before.headers, attempts: 0, available_at: null })
    expect(BigInt(row.id)).toBeGreaterThan(BigInt(before.id))

    const publisher = recordingPublisher()
    const relay = createRelay({ db: t.db, publisher, schema: t.schema })
    expect(await relay.runOnce()).toBe(1)
    expect(publisher.confirmed.map((m) => [m.messageId, m.payload])).toEqual([[id, '{"p": 1}']])
  })

  test('txbox dead retry --topic --yes moves every dead letter of the topic, in their original order', async () => {
    await clear()
    const ids = await makeDead([
      { topic: 'orders', key: 'same', payload: 1 },
      { topic: 'orders', key: 'same', payload: 2 },
      { topic: 'email', payload: 3 },
    ])
    const result = await txbox('dead', 'retry', '--topic', 'orders', '--yes')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('moved 2 dead letter(s) back into the outbox\n')
    const rows = await t.db.selectFrom(`${t.schema}.outbox`).select('message_id').orderBy('id').execute()
    expect(rows.map((r) => r.message_id)).toEqual(ids.slice(0, 2))
  })

  test('txbox dead retry of an id that is not dead moves the others and exits 1 naming it', async () => {
    await clear()
    const [id] = await makeDead([{ topic: 'orders', payload: 1 }])
    const result = await txbox('dead', 'retry', '--id', id as string, 'no-such-id')
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('moved 1 dead letter(s) back into the outbox\n')
    expect(result.stderr).toBe('txbox: no dead letter with message id no-such-id\n')
  })

  test('txbox dead purge --yes deletes the selected dead letters only', async () => {
    await clear()
    const [keep, drop] = await makeDead([
      { topic: 'orders', payload: 1 },
      { topic: 'email', payload: 2 },
    ])
    const refused = await txbox('dead', 'purge', '--topic', 'email')
    expect(refused.code).toBe(2)
    expect(await t.db.selectFrom(`${t.schema}.outbox_dead`).select('message_id').execute()).toHaveLength(2)
    const result = await txbox('dead', 'purge', '--topic', 'email', '--yes')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('deleted 1 dead letter(s)\n')
    const dead = await t.db.selectFrom(`${t.schema}.outbox_dead`).select('message_id').execute()
    expect(dead.map((r) => r.message_id)).toEqual([keep])
    expect(drop).toBeDefined()
  })
})

test('a schema without the tables: one line telling to run txbox migrate, exit 1', async () => {
  const result = await runCli(['status', '--schema', `${t.schema}_none`], { env: env() })
  expect(result.code).toBe(1)
  expect(result.stderr.trim().split('\n')).toHaveLength(1)
  expect(result.stderr).toMatch(/the txbox tables are missing .*run `txbox migrate` with the same --schema first/)
})
