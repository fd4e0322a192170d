import {
  enqueueOnCommit,
  InvalidMessageError,
  migrate,
  NotInTransactionError,
  onCommit,
  onRollback,
  type OutboxMessageInput,
  PayloadNotJsonError,
  TxboxError,
  withTransaction,
} from '@txbox/core'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { useTestDatabase } from './test-database.js'
import { waitFor } from './wait-for.js'

/** Where an ORM fixture connects: the test file's database, with `schema` first on the search_path. */
export interface OrmConnection {
  readonly url: string
  readonly schema: string
  /** `-c search_path=<schema>,public`, for drivers that take libpq options. */
  readonly pgOptions: string
}

/** A handle that is not inside a transaction, and what the error must tell its user. */
export interface OutsideTransaction {
  readonly what: string
  readonly handle: unknown
  /** The call the NotInTransactionError must name, e.g. /prisma\.\$transaction\(async \(tx\)/. */
  readonly advice: RegExp
}

/** What one ORM provides to the executor conformance suite. */
export interface OrmFixture {
  /** The client withTransaction takes (a PrismaClient, a Drizzle db, a DataSource…). */
  readonly client: object
  /** Runs `fn` in the ORM's own transaction, opened the way its users open it (no txbox involved). */
  transaction<T>(fn: (tx: any) => Promise<T>): Promise<T>
  /** Inserts a row into the `users (email)` table through `tx`, with the ORM's own API. */
  insertUser(tx: any, email: string): Promise<void>
  /** Handles outside a transaction (the root client, …), each rejected with its advice. */
  readonly outside: readonly OutsideTransaction[]
  /** Closes every connection the fixture opened. */
  close(): Promise<void>
}

/**
 * The contract every supported ORM's handles meet, run by each ORM against the
 * real PostgreSQL: `describeExecutorConformance('prisma', async (c) => fixture)`.
 * One schema per file; the fixture is created once and reused by every test.
 */
export function describeExecutorConformance(name: string, createFixture: (connection: OrmConnection) => Promise<OrmFixture>): void {
  describe(`executor conformance: ${name}`, () => {
    const t = useTestDatabase(`orm_${name}`)
    const opts = () => ({ schema: t.schema })
    let f: OrmFixture

    const outbox = async () =>
      (await sql<{ id: string; topic: string; key: string | null; payload: unknown }>`select id, topic, key, payload from ${sql.id(t.schema, 'outbox')} order by id`.execute(t.db))
        .rows
    const topics = async () => (await outbox()).map((r) => r.topic)
    const users = async () => (await sql<{ email: string }>`select email from ${sql.id(t.schema, 'users')} order by id`.execute(t.db)).rows.map((r) => r.email)
    const clear = async () => {
      await sql`truncate ${sql.id(t.schema, 'outbox')}, ${sql.id(t.schema, 'users')}`.execute(t.db)
    }
    const message = (topic: string, extra: Partial<OutboxMessageInput> = {}): OutboxMessageInput => ({ topic, payload: { topic }, ...extra })

    beforeAll(async () => {
      await migrate(t.db, opts())
      await sql`create table ${sql.id(t.schema, 'users')} (id serial primary key, email text not null)`.execute(t.db)
      f = await createFixture({ url: t.url, schema: t.schema, pgOptions: `-c search_path=${t.schema},public` })
    })
    afterAll(async () => {
      await f?.close()
    })

    test('a message enqueued in the ORM’s own transaction exists once it commits', async () => {
      await clear()
      const ids = await f.transaction(async (tx) => {
        await f.insertUser(tx, 'a@example.com')
        return enqueueOnCommit(tx, message('committed', { key: 'user:1' }), opts())
      })
      expect(ids).toHaveLength(1)
      expect(await outbox()).toEqual([expect.objectContaining({ topic: 'committed', key: 'user:1', payload: { topic: 'committed' } })])
      expect(await users()).toEqual(['a@example.com'])
    })

    test('no message exists when the ORM’s transaction rolls back', async () => {
      await clear()
      await expect(
        f.transaction(async (tx) => {
          await f.insertUser(tx, 'b@example.com')
          await enqueueOnCommit(tx, message('rolled-back'), opts())
          throw new Error('rollback')
        }),
      ).rejects.toThrow('rollback')
      expect(await outbox()).toEqual([])
      expect(await users()).toEqual([])
    })

    test('an array is inserted in input order and returns the ids in input order; every field survives the driver', async () => {
      await clear()
      const at = new Date(Date.now() + 3_600_000)
      const odd = 'k "quoted" \\ back, {braces} NULL'
      const ids = await f.transaction(async (tx) => [
        ...(await enqueueOnCommit(
          tx,
          [
            message('a', { key: odd }),
            message('b', { messageId: `mine-${name}`, headers: { 'x-tenant': 'acme' } }),
            message('c', { key: 'k', delay: 60_000 }),
            message('d', { availableAt: at }),
          ],
          opts(),
        )),
        ...(await enqueueOnCommit(tx, message('e', { availableAt: at }), opts())),
      ])
      expect(ids[1]).toBe(`mine-${name}`)
      const rows = await sql<{ message_id: string; topic: string; key: string | null; headers: unknown; available_at: Date | null }>`
        select message_id, topic, key, headers, available_at from ${sql.id(t.schema, 'outbox')} order by id`.execute(t.db)
      expect(rows.rows.map((r) => r.message_id)).toEqual(ids)
      expect(rows.rows.map((r) => r.topic)).toEqual(['a', 'b', 'c', 'd', 'e'])
      expect(rows.rows.map((r) => r.key)).toEqual([odd, null, 'k', null, null])
      expect(rows.rows[1]?.headers).toEqual({ 'x-tenant': 'acme' })
      expect(rows.rows[2]?.available_at?.getTime()).toBeGreaterThan(Date.now() + 50_000)
      expect(rows.rows[3]?.available_at?.getTime()).toBe(at.getTime())
      expect(rows.rows[4]?.available_at?.getTime()).toBe(at.getTime())
    })

    test('withTransaction(client) opens the ORM’s transaction, commits, then runs onCommit hooks; a rollback runs onRollback', async () => {
      await clear()
      const seen: string[] = []
      await withTransaction(f.client, async (tx: any) => {
        await f.insertUser(tx, 'c@example.com')
        await enqueueOnCommit(tx, message('with-transaction'), opts())
        onCommit(tx, async () => {
          seen.push(`commit:${(await topics()).join(',')}`)
        })
        onRollback(tx, () => seen.push('rollback'))
      })
      expect(seen).toEqual(['commit:with-transaction'])
      await expect(
        withTransaction(f.client, async (tx: any) => {
          await enqueueOnCommit(tx, message('gone'), opts())
          onCommit(tx, () => seen.push('commit-2'))
          onRollback(tx, () => seen.push('rollback-2'))
          throw new Error('rollback')
        }),
      ).rejects.toThrow('rollback')
      expect(seen).toEqual(['commit:with-transaction', 'rollback-2'])
      expect(await topics()).toEqual(['with-transaction'])
      expect(await users()).toEqual(['c@example.com'])
    })

    test('a savepoint that rolls back drops its messages and onCommit hooks and runs its onRollback hooks; the outer transaction commits', async () => {
      await clear()
      const seen: string[] = []
      await withTransaction(f.client, async (tx: any) => {
        await enqueueOnCommit(tx, message('outer'), opts())
        onCommit(tx, () => seen.push('outer-commit'))
        await expect(
          withTransaction(tx, async (sp: any) => {
            await f.insertUser(sp, 'inner@example.com')
            await enqueueOnCommit(sp, message('inner'), opts())
            onCommit(sp, () => seen.push('inner-commit'))
            onRollback(sp, () => seen.push('inner-rollback'))
            throw new Error('savepoint fails')
          }),
        ).rejects.toThrow('savepoint fails')
        await withTransaction(tx, async (sp: any) => {
          await enqueueOnCommit(sp, message('kept'), opts())
          onCommit(sp, () => seen.push('kept-commit'))
        })
        await f.insertUser(tx, 'outer@example.com')
      })
      expect(await topics()).toEqual(['outer', 'kept'])
      expect(await users()).toEqual(['outer@example.com'])
      expect(seen).toEqual(['inner-rollback', 'outer-commit', 'kept-commit'])
    })

    test('withTransaction signals relays after the commit (LISTEN hears it)', async () => {
      await clear()
      const listener = new pg.Client({ connectionString: t.url })
      await listener.connect()
      try {
        const heard: string[] = []
        listener.on('notification', (n) => heard.push(n.channel))
        const channel = `${t.schema}_outbox`
        await listener.query(`LISTEN "${channel}"`)
        await withTransaction(f.client, (tx: any) => enqueueOnCommit(tx, message('signalled'), opts()))
        await waitFor(() => heard.includes(channel), { timeoutMs: 5000, message: 'the after-commit NOTIFY' })
      } finally {
        await listener.end()
      }
    })

    test('writers of the same key are serialised: the second waits at its enqueue, and ids follow commit order', async () => {
      await clear()
      let releaseFirst!: () => void
      const firstMayCommit = new Promise<void>((resolve) => {
        releaseFirst = resolve
      })
      let firstEnqueued!: () => void
      const firstHasEnqueued = new Promise<void>((resolve) => {
        firstEnqueued = resolve
      })
      const first = f.transaction(async (tx) => {
        await enqueueOnCommit(tx, message('first', { key: 'same' }), opts())
        firstEnqueued()
        await firstMayCommit
      })
      await firstHasEnqueued
      let secondDone = false
      const second = f.transaction(async (tx) => {
        await enqueueOnCommit(tx, message('second', { key: 'same' }), opts())
        secondDone = true
      })
      // The second writer waits on the key's advisory lock while the first is open.
      await waitFor(
        async () =>
          (
            await sql<{ n: number }>`select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid)
              where l.locktype = 'advisory' and not l.granted and a.query like ${`%${t.schema}%`}`.execute(t.db)
          ).rows[0]?.n === 1,
        { message: 'the second writer waiting on the key lock' },
      )
      expect(secondDone).toBe(false)
      releaseFirst()
      await Promise.all([first, second])
      expect(await topics()).toEqual(['first', 'second'])
    })

    test('a handle outside a transaction is rejected with NotInTransactionError naming the ORM’s call', async () => {
      await clear()
      for (const outside of f.outside) {
        const error = await enqueueOnCommit(outside.handle as object, message('outside'), opts()).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error, outside.what).toBeInstanceOf(NotInTransactionError)
        expect((error as Error).message, outside.what).toMatch(outside.advice)
      }
      expect(await outbox()).toEqual([])
    })

    test('bad input is refused at the call and leaves the ORM’s transaction usable', async () => {
      await clear()
      await f.transaction(async (tx) => {
        await expect(enqueueOnCommit(tx, { topic: '', payload: 1 }, opts())).rejects.toBeInstanceOf(InvalidMessageError)
        await expect(enqueueOnCommit(tx, { topic: 'x', payload: 10n }, opts())).rejects.toBeInstanceOf(PayloadNotJsonError)
        await expect(enqueueOnCommit(tx, [message('ok'), { topic: 'x', payload: () => 1 } as never], opts())).rejects.toBeInstanceOf(TxboxError)
        await f.insertUser(tx, 'd@example.com')
        await enqueueOnCommit(tx, message('after-bad-input'), opts())
      })
      expect(await topics()).toEqual(['after-bad-input'])
      expect(await users()).toEqual(['d@example.com'])
    })
  })
}
