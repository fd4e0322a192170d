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

  test('given db inside db.transaction().execute(), the advice names the trx of that callback, not db.transaction().execute() again', async () => {
    await clear()
    const error = await t.db
      .transaction()
      .execute(async (trx) => {
        const thrown = await enqueueOnCommit(t.db, { topic: 'a', payload: 1 }, opts()).catch((e: unknown) => e)
        // The transaction is still usable: the same message through its trx commits.
        await enqueueOnCommit(trx, { topic: 'a', payload: 2 }, opts())
        return thrown
      })
    expect(error).toBeInstanceOf(NotInTransactionError)
    const message = (error as Error).message
    expect(message).toMatch(/pass the `trx` your callback receives.*db\.transaction\(\)\.execute\(async \(trx\) =>/)
    expect(message).not.toMatch(/\(or inside db\.transaction\(\)\.execute\(\)\)/)
    expect((await rows()).map((r) => r.payload)).toEqual([2])
  })

  test('payload: undefined says to pass null or the data, not to leave the property out (which fails as missing)', async () => {
    const error = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'a', payload: undefined }, opts())).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PayloadNotJsonError)
    const message = (error as Error).message
    expect(message).toMatch(/message\.payload is undefined.*pass null for a message without data/)
    expect(message).not.toMatch(/leave .* out/)
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

/** The first half of an emoji (😀 is \uD83D\uDE00) left alone, as slice() leaves it. */
const LONE = '\uD83D'
/** An array nested `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

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

    // What some supported broker cannot carry: AMQP short strings (routing key,
    // message-id, header names) hold 255 BYTES of UTF-8, not 255 characters.
    ['a topic of 200 × "é" (400 bytes)', { topic: 'é'.repeat(200), payload: 1 }, InvalidMessageError, /topic is 400 bytes in UTF-8 .*limit is 255 bytes.*[Ss]horten it/],
    ['a messageId of 256 bytes', { topic: 'a', payload: 1, messageId: 'é'.repeat(128) }, InvalidMessageError, /messageId is 256 bytes in UTF-8 .*limit is 255 bytes/],
    ['a key of 256 bytes', { topic: 'a', payload: 1, key: '€'.repeat(85) + 'x' }, InvalidMessageError, /key is 256 bytes in UTF-8 .*limit is 255 bytes/],
    ['a header name of 256 bytes', { topic: 'a', payload: 1, headers: { ['é'.repeat(128)]: 'v' } }, InvalidMessageError, /header name .* is 256 bytes in UTF-8 .*limit is 255 bytes/],
    ['an empty header name', { topic: 'a', payload: 1, headers: { '': 'v' } }, InvalidMessageError, /header name is empty: give each header a name/],
    ['headers given as a Map', { topic: 'a', payload: 1, headers: new Map([['a', 'b']]) }, InvalidMessageError, /Map.*Object\.fromEntries/],

    // What PostgreSQL cannot store: each used to pass validation and then abort
    // the caller's transaction with a DatabaseError (or be stored altered).
    ['a lone surrogate in a payload string', { topic: 'a', payload: { text: `cut${LONE}` } }, PayloadNotJsonError, /\$\.text contains an unpaired UTF-16 surrogate .*toWellFormed/],
    ['a lone low surrogate in a payload array', { topic: 'a', payload: ['ok', '\uDE00'] }, PayloadNotJsonError, /\$\[1\] contains an unpaired UTF-16 surrogate/],
    ['a lone surrogate in a payload property name', { topic: 'a', payload: { [`k${LONE}`]: 1 } }, PayloadNotJsonError, /property name .* at \$ contains an unpaired UTF-16 surrogate/],
    ['U+0000 in a payload property name', { topic: 'a', payload: { nested: { 'a\u0000b': 1 } } }, PayloadNotJsonError, /property name .* at \$\.nested contains the character U\+0000.*remove it/],
    ['a lone surrogate returned by toJSON', { topic: 'a', payload: { v: { toJSON: () => LONE } } }, PayloadNotJsonError, /\$\.v contains an unpaired UTF-16 surrogate/],
    ['U+0000 in a header name', { topic: 'a', payload: 1, headers: { 'x\u0000': 'v' } }, InvalidMessageError, /header name .* contains the character U\+0000/],
    ['U+0000 in a header value', { topic: 'a', payload: 1, headers: { x: 'v\u0000' } }, InvalidMessageError, /headers\["x"\] contains the character U\+0000/],
    ['a lone surrogate in a header name', { topic: 'a', payload: 1, headers: { [`x${LONE}`]: 'v' } }, InvalidMessageError, /header name .* contains an unpaired UTF-16 surrogate/],
    ['a lone surrogate in a header value', { topic: 'a', payload: 1, headers: { x: LONE } }, InvalidMessageError, /headers\["x"\] contains an unpaired UTF-16 surrogate/],
    ['a lone surrogate in the topic', { topic: `order${LONE}`, payload: 1 }, InvalidMessageError, /topic contains an unpaired UTF-16 surrogate \(\\uD83D at index 5\)/],
    ['a lone surrogate in the key', { topic: 'a', payload: 1, key: `user${LONE}` }, InvalidMessageError, /key contains an unpaired UTF-16 surrogate/],
    ['a lone surrogate in the messageId', { topic: 'a', payload: 1, messageId: `id${LONE}` }, InvalidMessageError, /messageId contains an unpaired UTF-16 surrogate/],
    ['a delay of 1e300 ms', { topic: 'a', payload: 1, delay: 1e300 }, InvalidMessageError, /delay is 1e\+300 ms, .*year 275760.*give a delay below/],
    ['a delay of 1e300 ms in an array', [{ topic: 'a', payload: 1 }, { topic: 'b', payload: 2, delay: 1e300 }], InvalidMessageError, /messages\[1\]\.delay/],
    ['an availableAt before 4713 BC', { topic: 'a', payload: 1, availableAt: new Date(-8.64e15) }, InvalidMessageError, /availableAt is before 4714-11-24 BC.*omit availableAt/],
    ['an availableAt before 4713 BC in an array', [{ topic: 'a', payload: 1, availableAt: new Date(-8.64e15) }, { topic: 'b', payload: 2 }], InvalidMessageError, /messages\[0\]\.availableAt/],

    // Odd input JSON would silently mangle, or that JavaScript cannot walk.
    ['a Map in the payload', { topic: 'a', payload: { m: new Map([['a', 1]]) } }, PayloadNotJsonError, /\$\.m is a Map.*Object\.fromEntries/],
    ['a Set in the payload', { topic: 'a', payload: [new Set([1])] }, PayloadNotJsonError, /\$\[0\] is a Set.*Array\.from/],
    ['a getter that throws', { topic: 'a', payload: { get boom() { throw new Error('no db') } } }, PayloadNotJsonError, /threw while being serialised.*no db/],
    ['a payload nested deeper than JavaScript can serialise', { topic: 'a', payload: nested(100_000) }, PayloadNotJsonError, /nested too deeply.*flatten/],
    // biome-ignore lint/suspicious/noSparseArray: a hole in the array of messages is the bad input
    ['a hole in the array of messages', [{ topic: 'a', payload: 1 }, , { topic: 'b', payload: 2 }], InvalidMessageError, /messages\[1\] must be an object .*got undefined/],
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

  test('one call carries at most 128 MiB of JSON: more is PayloadTooLargeError, and the same transaction then enqueues in smaller calls', async () => {
    await clear()
    const mib = 'x'.repeat(1024 * 1024 - 2) // 1 MiB as JSON text, with its quotes
    const messages = Array.from({ length: 129 }, () => ({ topic: 'big', payload: mib }))
    await withTransaction(t.db, async (trx) => {
      const error = await enqueueOnCommit(trx, messages, opts()).catch((e) => e)
      expect(error).toBeInstanceOf(PayloadTooLargeError)
      expect(error).toMatchObject({ bytes: 129 * 1024 * 1024, limit: 128 * 1024 * 1024 })
      expect(error.message).toMatch(/messages\[128\] are 135266304 bytes of JSON .*Split the array into several calls/)
      await enqueueOnCommit(trx, messages.slice(0, 2), opts())
    })
    expect(await rows()).toHaveLength(2)
  })

  test('a call just under the limit, of the most escape-heavy JSON there is, is inserted whole (it used to exhaust the heap)', async () => {
    await clear()
    // Each quote is 2 bytes of JSON (\"): node-postgres escaped it again, by a
    // regular expression, when the payloads travelled as a text[]; 128 such
    // MiB took over 4 GB and crashed the process.
    const quotes = '"'.repeat(512 * 1024 - 1) // 1 MiB as JSON text
    const messages = Array.from({ length: 127 }, (_, i) => ({ topic: 'quotes', payload: quotes, headers: i % 2 ? { q: '"' } : undefined }))
    const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, messages, opts()))
    const { rows: stored } = await sql<{ n: number; same: number; bare: number }>`
      select count(*)::int as n, count(*) filter (where payload = to_jsonb(${quotes}::text))::int as same,
             count(*) filter (where headers is null)::int as bare
      from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
    expect(ids).toHaveLength(127)
    expect(stored).toEqual([{ n: 127, same: 127, bare: 64 }])
    await clear()
  })

  test('maxPayloadBytes above 32 MiB, more than jsonb surely holds, is InvalidOptionError', async () => {
    await withTransaction(t.db, async (trx) => {
      const error = await enqueueOnCommit(trx, { topic: 'a', payload: 1 }, { ...opts(), maxPayloadBytes: 32 * 1024 * 1024 + 1 }).catch((e) => e)
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(error.message).toMatch(/at most 33554432 \(32 MiB.*enqueue a reference/)
      await enqueueOnCommit(trx, { topic: 'a', payload: 1 }, { ...opts(), maxPayloadBytes: 32 * 1024 * 1024 })
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

describe('odd but valid input is stored exactly as given, up to the limits', () => {
  const EMOJI = '😀' // a well-formed surrogate pair: 2 UTF-16 units, 4 bytes of UTF-8
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8')

  test('names of exactly 255 bytes of multi-byte characters are accepted and come back unchanged', async () => {
    await clear()
    const topic = `${'é'.repeat(127)}x` // 2 × 127 + 1
    const key = '€'.repeat(85) // 3 × 85
    const messageId = `${EMOJI.repeat(63)}abc` // 4 × 63 + 3
    const header = `${'ü'.repeat(126)}abc` // 2 × 126 + 3
    expect([topic, key, messageId, header].map(bytes)).toEqual([255, 255, 255, 255])
    const ids = await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic, key, messageId, payload: 1, headers: { [header]: 'v' } }, opts()))
    expect(ids).toEqual([messageId])
    expect(await rows()).toMatchObject([{ topic, key, message_id: messageId, headers: { [header]: 'v' } }])
  })

  test('emoji (well-formed surrogate pairs) pass in every field, alone and in arrays', async () => {
    await clear()
    const message = {
      topic: `order.${EMOJI}`,
      key: `user:${EMOJI}`,
      messageId: `id-${EMOJI}`,
      headers: { [`x-${EMOJI}`]: `v-${EMOJI}` },
      payload: { [`k${EMOJI}`]: [`${EMOJI}`, { deep: EMOJI.repeat(1000) }], cjk: '日本語' },
    }
    await withTransaction(t.db, async (trx) => {
      expect(await enqueueOnCommit(trx, message, opts())).toEqual([message.messageId])
      await enqueueOnCommit(trx, [{ ...message, messageId: `id2-${EMOJI}` }, { topic: EMOJI, payload: EMOJI }], opts())
    })
    const [one, two, three] = await rows()
    expect(one).toMatchObject({ topic: message.topic, key: message.key, message_id: message.messageId, headers: message.headers, payload: message.payload })
    expect(two).toMatchObject({ message_id: `id2-${EMOJI}`, payload: message.payload })
    expect(three).toMatchObject({ topic: EMOJI, payload: EMOJI })
  })

  test('header names with spaces and punctuation, empty header values', async () => {
    await clear()
    const headers = { 'X Custom Header': 'a b', 'x.dotted/slash:colon': '', Üppercase: 'é' }
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'h', payload: null, headers }, opts()))
    expect((await rows())[0]?.headers).toEqual(headers)
  })

  test('scalars, extreme numbers, control characters and backslashes in payloads', async () => {
    await clear()
    const payloads = [42, 'text', true, null, [], {}, -0, 1e21, Number.MAX_VALUE, Number.MIN_VALUE, 'tab\tnew\nline \u0001\u001f', 'C:\\users\\u0000 is text, not NUL', '\\uD83D too']
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, payloads.map((payload) => ({ topic: 'p', payload })), opts()))
    expect((await rows()).map((r) => r.payload)).toEqual(payloads.map((p) => (Object.is(p, -0) ? 0 : p)))
  })

  test('deep nesting JavaScript can serialise, long strings within the limit, toJSON, Dates; Symbol keys are dropped as JSON drops them', async () => {
    await clear()
    const long = 'é'.repeat(500_000) // 1,000,002 bytes as JSON, under the default 1 MiB
    const sym = Symbol('meta')
    const payload = { deep: nested(1000), long, at: new Date(0), custom: { toJSON: () => ({ as: 'json' }) }, [sym]: 'dropped' }
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'odd', payload }, opts()))
    expect((await rows())[0]?.payload).toEqual({ deep: nested(1000), long, at: '1970-01-01T00:00:00.000Z', custom: { as: 'json' } })
  })

  test('noncharacters, the last code point, "__proto__" as a name, a newline in a topic, the smallest delay', async () => {
    await clear()
    const odd = '\uFFFF\uFFFE\u{10FFFF}'
    const payload = JSON.parse(`{"__proto__": "${odd}", "n": 1}`)
    const headers = JSON.parse('{"__proto__": "h"}')
    await withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: `a\nb${odd}`, key: odd, messageId: odd, payload, headers, delay: Number.MIN_VALUE }, opts()))
    const [row] = await rows()
    expect(row).toMatchObject({ topic: `a\nb${odd}`, key: odd, message_id: odd })
    const entries = (o: unknown) => Object.entries(o as object).sort(([a], [b]) => a.localeCompare(b))
    expect(entries(row?.payload)).toEqual(entries(payload)) // jsonb orders keys its own way
    expect(JSON.stringify(row?.headers)).toBe('{"__proto__":"h"}')
  })

  test('the earliest and latest times that fit: availableAt from 4713 BC (meaning now) to year 275760, and the longest delay', async () => {
    await clear()
    const latest = new Date(8.64e15)
    await withTransaction(t.db, (trx) =>
      enqueueOnCommit(trx, [
        { topic: 'ancient', payload: 1, availableAt: new Date(Date.UTC(-4000, 0, 1)) },
        { topic: 'latest', payload: 2, availableAt: latest },
        { topic: 'longest delay', payload: 3, delay: 8.64e15 - Date.now() - 86_400_000 },
      ], opts()),
    )
    const [ancient, atLatest, longest] = await rows()
    expect(ancient?.available_at).toBeNull()
    expect(atLatest?.available_at?.getTime()).toBe(latest.getTime())
    expect(longest?.available_at?.getTime()).toBeGreaterThan(8.64e15 - 2 * 86_400_000)
  })
})
