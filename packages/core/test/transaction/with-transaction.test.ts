import { InvalidOptionError, NotInTransactionError, onCommit, onRollback, withTransaction } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { sql } from 'kysely'
import { beforeAll, describe, expect, test } from 'vitest'

const t = useTestDatabase('trx')

beforeAll(async () => {
  await sql`create table items (id serial primary key, name text not null)`.execute(t.db)
})

const names = async () => (await t.db.selectFrom('items').select('name').orderBy('id').execute()).map((r) => r.name)
const clear = () => t.db.deleteFrom('items').execute()

describe('withTransaction', () => {
  test('returns the callback result and commits its writes', async () => {
    await clear()
    const result = await withTransaction(t.db, async (trx) => {
      await trx.insertInto('items').values({ name: 'a' }).execute()
      return 42
    })
    expect(result).toBe(42)
    expect(await names()).toEqual(['a'])
  })

  test('rolls back and rethrows the error when the callback throws', async () => {
    await clear()
    const boom = new Error('boom')
    await expect(
      withTransaction(t.db, async (trx) => {
        await trx.insertInto('items').values({ name: 'a' }).execute()
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(await names()).toEqual([])
  })

  test('onCommit hooks run after COMMIT, in registration order, awaited before the promise settles', async () => {
    await clear()
    const events: string[] = []
    await withTransaction(t.db, async (trx) => {
      await trx.insertInto('items').values({ name: 'a' }).execute()
      onCommit(trx, async () => {
        // Runs after the commit: another connection sees the row.
        const seen = await names()
        events.push(`first sees ${seen.join(',')}`)
      })
      onCommit(trx, () => {
        events.push('second')
      })
      events.push('body done')
    })
    expect(events).toEqual(['body done', 'first sees a', 'second'])
  })

  test('onCommit hooks are dropped and onRollback hooks run when the transaction rolls back', async () => {
    const events: string[] = []
    await expect(
      withTransaction(t.db, async (trx) => {
        onCommit(trx, () => events.push('commit'))
        onRollback(trx, () => events.push('rollback'))
        throw new Error('no')
      }),
    ).rejects.toThrow('no')
    expect(events).toEqual(['rollback'])
  })

  test('a throwing hook goes to onHookError, never rejects the committed transaction, and the other hooks still run', async () => {
    await clear()
    const errors: unknown[] = []
    const events: string[] = []
    const result = await withTransaction(
      t.db,
      async (trx) => {
        await trx.insertInto('items').values({ name: 'kept' }).execute()
        onCommit(trx, () => {
          throw new Error('hook failed')
        })
        onCommit(trx, () => events.push('after the failing hook'))
        return 'ok'
      },
      { onHookError: (e) => errors.push(e) },
    )
    expect(result).toBe('ok')
    expect(await names()).toEqual(['kept'])
    expect(errors).toHaveLength(1)
    expect((errors[0] as Error).message).toBe('hook failed')
    expect(events).toEqual(['after the failing hook'])
  })

  test('nested with the transaction, it makes a savepoint: an inner rollback keeps the outer work', async () => {
    await clear()
    await withTransaction(t.db, async (trx) => {
      await trx.insertInto('items').values({ name: 'outer' }).execute()
      await expect(
        withTransaction(trx, async (inner) => {
          await inner.insertInto('items').values({ name: 'inner' }).execute()
          throw new Error('inner fails')
        }),
      ).rejects.toThrow('inner fails')
      await trx.insertInto('items').values({ name: 'after' }).execute()
    })
    expect(await names()).toEqual(['outer', 'after'])
  })

  test('nested implicitly (same db inside the callback), it joins the outer transaction as a savepoint', async () => {
    await clear()
    await expect(
      withTransaction(t.db, async () => {
        await withTransaction(t.db, async (inner) => {
          await inner.insertInto('items').values({ name: 'inner' }).execute()
        })
        // The inner call did not commit on its own: the outer rollback undoes it.
        throw new Error('outer fails')
      }),
    ).rejects.toThrow('outer fails')
    expect(await names()).toEqual([])
  })

  test('the implicit nested call sees the outer transaction’s uncommitted writes', async () => {
    await clear()
    await withTransaction(t.db, async (trx) => {
      await trx.insertInto('items').values({ name: 'uncommitted' }).execute()
      const seen = await withTransaction(t.db, async (inner) => inner.selectFrom('items').select('name').execute())
      expect(seen.map((r) => r.name)).toEqual(['uncommitted'])
    })
  })

  test('hooks of a rolled-back savepoint are dropped (commit) or run (rollback); the others run in order', async () => {
    const events: string[] = []
    await withTransaction(t.db, async (trx) => {
      onCommit(trx, () => events.push('outer-1'))
      await withTransaction(trx, async (sp) => {
        onCommit(sp, () => events.push('kept savepoint'))
      })
      await withTransaction(trx, async (sp) => {
        onCommit(sp, () => events.push('dropped'))
        onRollback(sp, () => events.push('savepoint rolled back'))
        await withTransaction(sp, async (deeper) => {
          onCommit(deeper, () => events.push('dropped deeper'))
        })
        throw new Error('savepoint fails')
      }).catch(() => events.push('caught'))
      onCommit(trx, () => events.push('outer-2'))
    })
    expect(events).toEqual(['savepoint rolled back', 'caught', 'outer-1', 'kept savepoint', 'outer-2'])
  })

  test('onRollback hooks of a released savepoint run when the outer transaction rolls back', async () => {
    const events: string[] = []
    await withTransaction(t.db, async (trx) => {
      await withTransaction(trx, async (sp) => {
        onRollback(sp, () => events.push('inner rollback hook'))
      })
      throw new Error('outer fails')
    }).catch(() => {})
    expect(events).toEqual(['inner rollback hook'])
  })

  test('the isolation level option is applied', async () => {
    const level = await withTransaction(
      t.db,
      async (trx) => (await sql<{ transaction_isolation: string }>`show transaction_isolation`.execute(trx)).rows[0]?.transaction_isolation,
      { isolationLevel: 'serializable' },
    )
    expect(level).toBe('serializable')
  })

  test('after the transaction ends, code still running in its async context starts a new transaction', async () => {
    await clear()
    let later: Promise<unknown> | undefined
    await withTransaction(t.db, async () => {
      later = new Promise((resolve) => setImmediate(resolve)).then(() =>
        withTransaction(t.db, async (trx) => trx.insertInto('items').values({ name: 'own transaction' }).execute()),
      )
    })
    await later
    expect(await names()).toEqual(['own transaction'])
  })

  test('hooks outside a withTransaction transaction throw NotInTransactionError', async () => {
    expect(() => onCommit(t.db, () => {})).toThrow(NotInTransactionError)
    await t.db.transaction().execute(async (trx) => {
      expect(() => onCommit(trx, () => {})).toThrow(NotInTransactionError)
      expect(() => onRollback(trx, () => {})).toThrow(NotInTransactionError)
    })
  })

  test('bad options are typed errors', async () => {
    await expect(withTransaction(t.db, async () => 1, { isolationLevel: 'chaos' as never })).rejects.toThrow(InvalidOptionError)
    await expect(withTransaction(t.db, async () => 1, { nope: true } as never)).rejects.toThrow(/unknown option "nope"/)
    await expect(withTransaction({} as never, async () => 1)).rejects.toThrow(InvalidOptionError)
  })
})
