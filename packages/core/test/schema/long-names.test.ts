import { createRelay, enqueueOnCommit, InvalidIdentifierError, migrate, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { namesInSchema, resolveTableNames } from '../../src/schema/table-names.js'

// PostgreSQL cuts identifiers and NOTIFY channels at 63 bytes (NAMEDATALEN - 1).
// txbox accepts schema and table names of up to 48 characters, so the names it
// derives from them (the wake-up channel, index and constraint names) can be
// longer than that: they must still work, and never collide.
const t = useTestDatabase('long_names')
const pad = (prefix: string, char: string) => `${prefix}_${char.repeat(48 - prefix.length - 1)}`
const options = () => ({
  schema: pad(t.schema, 's'),
  outboxTable: 'o'.repeat(48),
  deadTable: pad('dead', 'd'),
  inboxTable: pad('inbox', 'i'),
})
const relayDb = separatePool(t, 'long_names_relay', 3)

beforeAll(async () => {
  await migrate(t.db, options())
})
afterAll(async () => {
  await sql`drop schema if exists ${sql.id(options().schema)} cascade`.execute(t.db)
  await relayDb.close()
})

describe('names of up to 48 characters work end to end, whatever PostgreSQL does to longer derived names', () => {
  test.each(['in-transaction', 'after-commit'] as const)('notify: %s wakes a listening relay on the outbox of the longest valid names', async (notify) => {
    const publisher = recordingPublisher()
    // A poll interval far beyond the wait below: only the wake-up signal can bring the message out in time.
    const relay = createRelay({ db: relayDb.db, publisher, ...options(), pollInterval: 60_000, listen: relayDb.pool, concurrency: 1 })
    let idleCycles = 0
    relay.on('idle', () => {
      idleCycles += 1
    })
    // The relay in this process is also woken directly by the commit: a
    // LISTEN of our own checks that the NOTIFY itself reaches the channel.
    const channel = resolveTableNames(options()).channel
    const listener = await relayDb.pool.connect()
    let heard = 0
    listener.on('notification', (n) => {
      if (n.channel === channel) heard += 1
    })
    await listener.query(`LISTEN "${channel}"`)
    await relay.start()
    try {
      // The listener signals once when it connects (a signal may have been
      // missed before); the cycle after that one is followed by the long sleep.
      await waitFor(() => idleCycles >= 2, { timeoutMs: 5000 })
      const [id] = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'long', payload: notify }, { ...options(), notify }))
      await waitFor(() => publisher.confirmed.some((m) => m.messageId === id), { timeoutMs: 5000 })
      await waitFor(() => heard >= 1, { timeoutMs: 5000, message: `a NOTIFY on ${channel}` })
    } finally {
      await relay.stop()
      await listener.query(`UNLISTEN "${channel}"`)
      listener.release()
    }
  })

  test('the wake-up channel fits in 63 bytes, is the same for every caller, and differs between outboxes that share a long prefix', () => {
    const a = resolveTableNames(options()).channel
    const b = resolveTableNames({ ...options(), outboxTable: `${'o'.repeat(47)}p` }).channel
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(63)
    expect(Buffer.byteLength(b)).toBeLessThanOrEqual(63)
    expect(a).not.toBe(b)
    expect(resolveTableNames({ ...options() }).channel).toBe(a)
    // Names that fit keep the channel earlier releases used, so that writers and relays of two releases still agree.
    expect(resolveTableNames({ schema: 'app', outboxTable: 'events' }).channel).toBe('app_events')
  })

  test('every table, index and constraint name the table set needs is what migrate created, cut by PostgreSQL but distinct', async () => {
    const { rows } = await sql<{ relname: string }>`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${options().schema} and c.relkind in ('r', 'i')`.execute(t.db)
    const created = rows.map((r) => r.relname).sort()
    const needed = namesInSchema(resolveTableNames(options())).map((n) => n.name.slice(0, 63))
    expect(created).toEqual([...needed].sort())
    expect(new Set(needed).size).toBe(needed.length)
    expect(needed.some((n) => n.length === 63)).toBe(true) // some were cut
  })
})

describe('a table set whose names would clash in the schema is refused before any SQL', () => {
  test.each([
    ['the outbox and dead tables the same', { outboxTable: 'events', deadTable: 'events' }],
    ['the inbox the outbox', { outboxTable: 'events', inboxTable: 'events' }],
    ["a table named like another's index", { outboxTable: 'events', inboxTable: 'events_ready_idx' }],
    ["a table named like txbox's ledger", { outboxTable: 'txbox_migrations' }],
  ])('%s', (_what, clash) => {
    expect(() => resolveTableNames({ schema: 'app', ...clash })).toThrow(InvalidIdentifierError)
  })
})
