import {
  enqueueOnCommit,
  InvalidIdentifierError,
  InvalidMessageError,
  InvalidOptionError,
  migrate,
  NotInTransactionError,
  PayloadNotJsonError,
  PayloadTooLargeError,
  SchemaNotMigratedError,
  TxboxError,
  withTransaction,
} from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'

const t = useTestDatabase('enqueue')
const opts = () => ({ schema: t.schema })

interface Row {
  message_id: string
  topic: string
  key: string | null
  payload: unknown
  headers: Record<string, string> | null
  available_at: Date | null
  id: string
}
const rows = async (): Promise<Row[]> =>
  (await sql<Row>`select id::text, message_id, topic, key, payload, headers, available_at from ${sql.id(t.schema, 'outbox')} order by id`.execute(t.db)).rows
const clear = () => sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)

beforeAll(async () => {
  await migrate(t.db, opts())
  await sql`create table users (id serial primary key, email text not null)`.execute(t.db)
})

describe('enqueueOnCommit records messages in the caller’s transaction', () => {
  test('a message exists after commit, with a generated UUIDv7 id', async () => {
    await clear()
    const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'user.created', key: 'user:1', payload: { id: 1 } }, opts()))
    expect(ids).toHaveLength(1)
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const [row] = await rows()
    expect(row).toMatchObject({ message_id: ids[0], topic: 'user.created', key: 'user:1', payload: { id: 1 }, headers: null, available_at: null })
  })

  test('no message exists when the transaction rolls back', async () => {
    await clear()
    await withTransaction(t.db, async (trx) => {
      await trx.insertInto('users').values({ email: 'a@example.com' }).execute()
      await enqueueOnCommit(trx, { topic: 'email.welcome', payload: {} }, opts())
      throw new Error('rollback')
    }).catch(() => {})
    expect(await rows()).toEqual([])
  })

  test('a message enqueued in a rolled-back savepoint is gone; the outer one stays', async () => {
    await clear()
    await withTransaction(t.db, async (trx) => {
      await enqueueOnCommit(trx, { topic: 'outer', payload: 1 }, opts())
      await withTransaction(trx, async (sp) => {
        await enqueueOnCommit(sp, { topic: 'inner', payload: 2 }, opts())
        throw new Error('savepoint fails')
      }).catch(() => {})
    })
    expect((await rows()).map((r) => r.topic)).toEqual(['outer'])
  })

  test('an array is inserted in one statement, in order, and returns the ids in input order', async () => {
    await clear()
    const ids = await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [
        { topic: 'a', key: 'k', payload: 1 },
        { topic: 'b', payload: 2, messageId: 'mine-1' },
        { topic: 'c', key: 'k', payload: 3, headers: { 'x-tenant': 'acme' } },
      ], opts()),
    )
    expect(ids[1]).toBe('mine-1')
    const got = await rows()
    expect(got.map((r) => r.message_id)).toEqual(ids)
    expect(got.map((r) => r.topic)).toEqual(['a', 'b', 'c'])
    expect(got[2]?.headers).toEqual({ 'x-tenant': 'acme' })
  })

  test('the same messageId enqueued again while still waiting is a no-op', async () => {
    await clear()
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'a', payload: 1, messageId: 'idem-1' }, opts()))
    const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'a', payload: 2, messageId: 'idem-1' }, opts()))
    expect(ids).toEqual(['idem-1'])
    expect((await rows()).map((r) => r.payload)).toEqual([1])
  })

  test('delay and availableAt set when the message becomes available; a past availableAt means now', async () => {
    await clear()
    const at = new Date(Date.now() + 3_600_000)
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [
        { topic: 'later', payload: 1, delay: 60_000 },
        { topic: 'at', payload: 2, availableAt: at },
        { topic: 'past', payload: 3, availableAt: new Date(Date.now() - 60_000) },
      ], opts()),
    )
    const [later, atRow, past] = await rows()
    expect(later?.available_at?.getTime()).toBeGreaterThan(Date.now() + 50_000)
    expect(atRow?.available_at?.getTime()).toBe(at.getTime())
    expect(past?.available_at).toBeNull()
  })

  test('it accepts a Kysely transaction from db.transaction()', async () => {
    await clear()
    await t.db.transaction().execute((trx) => enqueueOnCommit(trx, { topic: 'kysely', payload: null }, opts()))
    expect((await rows()).map((r) => r.topic)).toEqual(['kysely'])
  })

  test('it accepts a node-postgres client inside BEGIN, and commits or rolls back with it', async () => {
    await clear()
    const client = await t.client()
    try {
      await client.query('BEGIN')
      await enqueueOnCommit(client, { topic: 'pg-commit', payload: 1 }, opts())
      await client.query('COMMIT')
      await client.query('BEGIN')
      await enqueueOnCommit(client, { topic: 'pg-rollback', payload: 1 }, opts())
      await client.query('ROLLBACK')
    } finally {
      await client.end()
    }
    expect((await rows()).map((r) => r.topic)).toEqual(['pg-commit'])
  })

  test('outside a transaction it throws NotInTransactionError and writes nothing', async () => {
    await clear()
    await expect(enqueueOnCommit(t.db, { topic: 'a', payload: 1 }, opts())).rejects.toThrow(NotInTransactionError)
    const client = await t.client()
    try {
      await expect(enqueueOnCommit(client, { topic: 'a', payload: 1 }, opts())).rejects.toThrow(NotInTransactionError)
    } finally {
      await client.end()
    }
    await expect(enqueueOnCommit({} as never, { topic: 'a', payload: 1 }, opts())).rejects.toThrow(NotInTransactionError)
    // A pool's query() is its own transaction.
    await expect(enqueueOnCommit(t.pool as never, { topic: 'a', payload: 1 }, opts())).rejects.toThrow(/pg\.Pool/)
    expect(await rows()).toEqual([])
  })

  test('inside withTransaction, the root db finds the ambient transaction', async () => {
    await clear()
    await withTransaction(t.db, async () => {
      await enqueueOnCommit(t.db, { topic: 'ambient', payload: 1 }, opts())
      throw new Error('rollback')
    }).catch(() => {})
    expect(await rows()).toEqual([])
  })
})

describe('bad input fails at the call with a typed error and leaves the transaction usable', () => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const cases: Array<[string, unknown, new (...args: never[]) => TxboxError, RegExp]> = [
    ['an empty topic', { topic: '', payload: 1 }, InvalidMessageError, /topic must be a non-empty string/],
    ['a non-string topic', { topic: 42, payload: 1 }, InvalidMessageError, /topic must be a non-empty string/],
    ['a missing payload', { topic: 'a' }, InvalidMessageError, /payload is missing/],
    ['a BigInt payload', { topic: 'a', payload: { n: 10n } }, PayloadNotJsonError, /\$\.n is a BigInt/],
    ['a cyclic payload', { topic: 'a', payload: cyclic }, PayloadNotJsonError, /cycle/],
    ['a function payload', { topic: 'a', payload: { f: () => 1 } }, PayloadNotJsonError, /\$\.f is a function/],
    ['an undefined payload', { topic: 'a', payload: undefined }, PayloadNotJsonError, /undefined/],
    ['an undefined array element', { topic: 'a', payload: [1, undefined] }, PayloadNotJsonError, /\$\[1\] is undefined/],
    ['NaN in the payload', { topic: 'a', payload: { x: Number.NaN } }, PayloadNotJsonError, /NaN/],
    ['a NUL character', { topic: 'a', payload: 'a\u0000b' }, PayloadNotJsonError, /U\+0000/],
    ['an empty key', { topic: 'a', payload: 1, key: '' }, InvalidMessageError, /key must be a non-empty string/],
    ['a non-string header', { topic: 'a', payload: 1, headers: { n: 1 } }, InvalidMessageError, /must be a string/],
    ['a reserved header', { topic: 'a', payload: 1, headers: { 'txbox-key': 'x' } }, InvalidMessageError, /reserved/],
    ['a negative delay', { topic: 'a', payload: 1, delay: -1 }, InvalidMessageError, /delay must be/],
    ['both delay and availableAt', { topic: 'a', payload: 1, delay: 1, availableAt: new Date() }, InvalidMessageError, /give one of them/],
    ['an invalid date', { topic: 'a', payload: 1, availableAt: new Date('x') }, InvalidMessageError, /valid Date/],
    ['an unknown field', { topic: 'a', payload: 1, data: 1 }, InvalidMessageError, /unknown field "data"/],
    ['not an object', 'user.created', InvalidMessageError, /must be an object/],
  ]

  test.each(cases)('%s', async (_name, message, ErrorClass, text) => {
    await clear()
    await withTransaction(t.db, async (trx) => {
      await trx.insertInto('users').values({ email: 'kept@example.com' }).execute()
      const error = await enqueueOnCommit(trx, message as never, opts()).catch((e) => e)
      expect(error).toBeInstanceOf(ErrorClass)
      expect(error).toBeInstanceOf(TxboxError)
      expect(error.message).toMatch(text)
      // The transaction is still usable.
      await trx.insertInto('users').values({ email: 'after@example.com' }).execute()
      await enqueueOnCommit(trx, { topic: 'after the error', payload: 1 }, opts())
    })
    expect((await rows()).map((r) => r.topic)).toEqual(['after the error'])
  })

  test('an oversized payload is rejected with the limit', async () => {
    await withTransaction(t.db, async (trx) => {
      const error = await enqueueOnCommit(trx, { topic: 'a', payload: 'x'.repeat(200) }, { ...opts(), maxPayloadBytes: 100 }).catch((e) => e)
      expect(error).toBeInstanceOf(PayloadTooLargeError)
      expect(error).toMatchObject({ bytes: 202, limit: 100 })
    })
  })

  test('a bad schema name is an InvalidIdentifierError, never spliced into SQL', async () => {
    await withTransaction(t.db, async (trx) => {
      const error = await enqueueOnCommit(trx, { topic: 'a', payload: 1 }, { schema: 'x"; drop table users; --' }).catch((e) => e)
      expect(error).toBeInstanceOf(InvalidIdentifierError)
    })
    // The users table the injection tried to drop is still there.
    const { rows } = await sql<{ users: string | null }>`select to_regclass(${`${t.schema}.users`})::text as users`.execute(t.db)
    expect(rows[0]?.users).not.toBeNull()
  })

  test('unknown options and bad option values are InvalidOptionError', async () => {
    await withTransaction(t.db, async (trx) => {
      await expect(enqueueOnCommit(trx, { topic: 'a', payload: 1 }, { sheme: 'x' } as never)).rejects.toThrow(InvalidOptionError)
      await expect(enqueueOnCommit(trx, { topic: 'a', payload: 1 }, { ...opts(), notify: 'yes' as never })).rejects.toThrow(InvalidOptionError)
    })
  })

  test('a missing outbox table is SchemaNotMigratedError telling to run migrate; the transaction can still roll back', async () => {
    const client = await t.client()
    try {
      await client.query('BEGIN')
      await client.query(`insert into users (email) values ('x')`)
      const error = await enqueueOnCommit(client, { topic: 'a', payload: 1 }, { schema: 'no_such_schema' }).catch((e) => e)
      expect(error).toBeInstanceOf(SchemaNotMigratedError)
      expect(error.message).toMatch(/txbox migrate/)
      await client.query('ROLLBACK')
    } finally {
      await client.end()
    }
  })
})
