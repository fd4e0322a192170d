import { InvalidOptionError, migrate, onCommit, processOnce, SchemaNotMigratedError, withTransaction } from '@txbox/core'
import { useTestDatabase, waitFor } from '@txbox/testing'
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { beforeAll, beforeEach, describe, expect, test } from 'vitest'

const t = useTestDatabase('inbox')
const opts = () => ({ schema: t.schema })

beforeAll(async () => {
  await migrate(t.db, opts())
  await sql`create table ${sql.id(t.schema, 'effects')} (id serial primary key, message_id text not null, consumer text)`.execute(t.db)
})

beforeEach(async () => {
  await sql`truncate ${sql.id(t.schema, 'effects')}, ${sql.id(t.schema, 'inbox')}`.execute(t.db)
})

async function effects(messageId: string): Promise<number> {
  const row = await t.db.selectFrom(`${t.schema}.effects`).select((eb) => eb.fn.countAll<string>().as('n')).where('message_id', '=', messageId).executeTakeFirstOrThrow()
  return Number(row.n)
}

async function recorded(messageId: string, consumer = ''): Promise<boolean> {
  const row = await t.db.selectFrom(`${t.schema}.inbox`).select('message_id').where('message_id', '=', messageId).where('consumer', '=', consumer).executeTakeFirst()
  return row !== undefined
}

/** A promise and the function that resolves it, to hold a handler open. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

/** Backends of this test file blocked on a lock at the inbox INSERT (the schema name is unique to this file). */
async function waitingOnInbox(): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from pg_stat_activity
    where wait_event_type = 'Lock' and query like ${`INSERT INTO "${t.schema}"."inbox"%`}`.execute(t.db)
  return Number(rows[0]?.n ?? 0)
}

describe('processOnce', () => {
  test('runs the handler once and commits its writes with the inbox record', async () => {
    const outcome = await processOnce(
      t.db,
      'm-1',
      async (trx) => {
        await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-1' }).execute()
        return 42
      },
      opts(),
    )
    expect(outcome).toEqual({ status: 'processed', result: 42 })
    expect(await effects('m-1')).toBe(1)
    expect(await recorded('m-1')).toBe(true)
  })

  test('a redelivered message id is skipped without running the handler', async () => {
    let calls = 0
    const handler = async (trx: any) => {
      calls += 1
      await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-dup' }).execute()
    }
    expect((await processOnce(t.db, 'm-dup', handler, opts())).status).toBe('processed')
    expect(await processOnce(t.db, 'm-dup', handler, opts())).toEqual({ status: 'duplicate' })
    expect(calls).toBe(1)
    expect(await effects('m-dup')).toBe(1)
  })

  test('a handler that throws rolls back its writes and the record, so a redelivery runs it again', async () => {
    const boom = new Error('handler failed')
    await expect(
      processOnce(
        t.db,
        'm-fail',
        async (trx) => {
          await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-fail' }).execute()
          throw boom
        },
        opts(),
      ),
    ).rejects.toBe(boom)
    expect(await effects('m-fail')).toBe(0)
    expect(await recorded('m-fail')).toBe(false)

    const again = await processOnce(
      t.db,
      'm-fail',
      async (trx) => {
        await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-fail' }).execute()
        return 'second try'
      },
      opts(),
    )
    expect(again).toEqual({ status: 'processed', result: 'second try' })
    expect(await effects('m-fail')).toBe(1)
  })

  test('two concurrent deliveries of one id run the handler effect once: the second waits, then is a duplicate', async () => {
    const hold = gate()
    let calls = 0
    const handler = async (trx: any) => {
      calls += 1
      await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-race' }).execute()
      if (calls === 1) await hold.opened
    }
    const first = processOnce(t.db, 'm-race', handler, opts())
    await waitFor(() => calls === 1, { timeoutMs: 5000 })
    const second = processOnce(t.db, 'm-race', handler, opts())
    // The second delivery is blocked on the first one's uncommitted inbox row.
    await waitFor(async () => (await waitingOnInbox()) === 1, { timeoutMs: 5000, message: 'second delivery waiting on the inbox row lock' })
    expect(calls).toBe(1)
    hold.open()
    expect(await first).toEqual({ status: 'processed', result: undefined })
    expect(await second).toEqual({ status: 'duplicate' })
    expect(calls).toBe(1)
    expect(await effects('m-race')).toBe(1)
  })

  test('when the first of two concurrent deliveries fails, the waiting one runs the handler', async () => {
    const hold = gate()
    let calls = 0
    const handler = async (trx: any) => {
      calls += 1
      await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-race-fail' }).execute()
      if (calls === 1) {
        await hold.opened
        throw new Error('first delivery failed')
      }
      return 'second'
    }
    const first = processOnce(t.db, 'm-race-fail', handler, opts())
    const firstSettled = first.catch((e: Error) => e)
    await waitFor(() => calls === 1, { timeoutMs: 5000 })
    const second = processOnce(t.db, 'm-race-fail', handler, opts())
    await waitFor(async () => (await waitingOnInbox()) === 1, { timeoutMs: 5000, message: 'second delivery waiting on the inbox row lock' })
    hold.open()
    expect(((await firstSettled) as Error).message).toBe('first delivery failed')
    expect(await second).toEqual({ status: 'processed', result: 'second' })
    expect(calls).toBe(2)
    expect(await effects('m-race-fail')).toBe(1)
  })

  test('each consumer processes a message once, independently of the others', async () => {
    const handler = (consumer: string) => async (trx: any) => {
      await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-shared', consumer }).execute()
    }
    expect((await processOnce(t.db, 'm-shared', handler('billing'), { ...opts(), consumer: 'billing' })).status).toBe('processed')
    expect((await processOnce(t.db, 'm-shared', handler('email'), { ...opts(), consumer: 'email' })).status).toBe('processed')
    expect((await processOnce(t.db, 'm-shared', handler('billing'), { ...opts(), consumer: 'billing' })).status).toBe('duplicate')
    expect((await processOnce(t.db, 'm-shared', handler('default'), opts())).status).toBe('processed')
    expect(await effects('m-shared')).toBe(3)
    expect(await recorded('m-shared', 'billing')).toBe(true)
    expect(await recorded('m-shared', 'email')).toBe(true)
  })

  test('onCommit hooks registered in the handler run after the commit, and not for a duplicate', async () => {
    const ran: string[] = []
    const handler = async (trx: any) => {
      onCommit(trx, () => {
        ran.push('hook')
      })
    }
    await processOnce(t.db, 'm-hook', handler, opts())
    expect(ran).toEqual(['hook'])
    await processOnce(t.db, 'm-hook', handler, opts())
    expect(ran).toEqual(['hook'])
  })

  test('inside withTransaction, the record rolls back with the outer transaction', async () => {
    await expect(
      withTransaction(t.db, async () => {
        const outcome = await processOnce(
          t.db,
          'm-outer',
          async (trx) => {
            await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'm-outer' }).execute()
          },
          opts(),
        )
        expect(outcome.status).toBe('processed')
        throw new Error('outer rolls back')
      }),
    ).rejects.toThrow('outer rolls back')
    expect(await recorded('m-outer')).toBe(false)
    expect(await effects('m-outer')).toBe(0)
  })

  test('the isolation level option reaches the transaction', async () => {
    const outcome = await processOnce(
      t.db,
      'm-iso',
      async (trx) => (await sql<{ transaction_isolation: string }>`show transaction_isolation`.execute(trx)).rows[0]?.transaction_isolation,
      { ...opts(), isolationLevel: 'serializable' },
    )
    expect(outcome).toEqual({ status: 'processed', result: 'serializable' })
  })

  describe('message ids of any length and content (they come from other producers)', () => {
    /** An id PostgreSQL cannot compress, so its length is what the index sees. */
    const longId = (bytes: number) => randomBytes(bytes / 2).toString('hex')
    const handlerCounting = (calls: string[]) => async (trx: any) => {
      calls.push('ran')
      await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'long' }).execute()
    }

    test('a message id too long for the index (3 KB, 100 KB) is processed once, then a duplicate', async () => {
      for (const id of [longId(3_000), longId(100_000)]) {
        const calls: string[] = []
        expect((await processOnce(t.db, id, handlerCounting(calls), opts())).status).toBe('processed')
        expect(await processOnce(t.db, id, handlerCounting(calls), opts())).toEqual({ status: 'duplicate' })
        expect(calls).toEqual(['ran'])
      }
    })

    test('long ids that differ only in their last character are two messages', async () => {
      const base = longId(4_000)
      expect((await processOnce(t.db, `${base}a`, async () => {}, opts())).status).toBe('processed')
      expect((await processOnce(t.db, `${base}b`, async () => {}, opts())).status).toBe('processed')
      expect((await processOnce(t.db, `${base}a`, async () => {}, opts())).status).toBe('duplicate')
    })

    test('a record of a long id written before ids were digested still makes its redelivery a duplicate', async () => {
      const id = longId(2_000)
      // How processOnce recorded a 2 KB id until now: as it is.
      await sql`insert into ${sql.id(t.schema, 'inbox')} (consumer, message_id) values ('', ${id})`.execute(t.db)
      const calls: string[] = []
      expect(await processOnce(t.db, id, handlerCounting(calls), opts())).toEqual({ status: 'duplicate' })
      expect(calls).toEqual([])
    })

    test('an id that reads like a digest is not confused with the long id it digests', async () => {
      const long = longId(3_000)
      await processOnce(t.db, long, async () => {}, opts())
      const { rows } = await sql<{ message_id: string }>`select message_id from ${sql.id(t.schema, 'inbox')}`.execute(t.db)
      expect(rows).toHaveLength(1)
      const stored = rows[0]?.message_id as string
      expect(stored.length).toBeLessThan(200)
      expect((await processOnce(t.db, stored, async () => {}, opts())).status).toBe('processed')
      expect((await processOnce(t.db, long, async () => {}, opts())).status).toBe('duplicate')
    })

    test('ids PostgreSQL text cannot hold as they are (a NUL, a lone surrogate) are processed once each, without colliding', async () => {
      for (const id of ['m\u0000', 'm\u0000x', 'm\uD800', 'm\uDBFF']) {
        expect((await processOnce(t.db, id, async () => {}, opts())).status, JSON.stringify(id)).toBe('processed')
      }
      for (const id of ['m\u0000', 'm\u0000x', 'm\uD800', 'm\uDBFF']) {
        expect((await processOnce(t.db, id, async () => {}, opts())).status, JSON.stringify(id)).toBe('duplicate')
      }
    })

    test('two concurrent deliveries of one long id run the handler once', async () => {
      const id = longId(5_000)
      const hold = gate()
      const calls: string[] = []
      const handler = async (trx: any) => {
        calls.push('ran')
        await trx.insertInto(`${t.schema}.effects`).values({ message_id: 'long-race' }).execute()
        await hold.opened
      }
      const first = processOnce(t.db, id, handler, opts())
      await waitFor(() => calls.length === 1, { timeoutMs: 5000 })
      const second = processOnce(t.db, id, handler, opts())
      await waitFor(async () => (await waitingOnInbox()) === 1, { timeoutMs: 5000, message: 'second delivery waiting on the inbox row lock' })
      hold.open()
      expect((await first).status).toBe('processed')
      expect(await second).toEqual({ status: 'duplicate' })
      expect(calls).toEqual(['ran'])
    })
  })

  test('bad input fails with a typed error before anything runs', async () => {
    let calls = 0
    const handler = async () => {
      calls += 1
    }
    await expect(processOnce(t.db, '', handler, opts())).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'messageId' })
    await expect(processOnce(t.db, 42 as unknown as string, handler, opts())).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(processOnce(t.db, 'm', 'nope' as unknown as () => Promise<void>, opts())).rejects.toMatchObject({ option: 'handler' })
    await expect(processOnce(t.db, 'm', handler, { ...opts(), consumr: 'x' } as never)).rejects.toMatchObject({ option: 'consumr' })
    await expect(processOnce(t.db, 'm', handler, { ...opts(), consumer: 7 } as never)).rejects.toMatchObject({ option: 'consumer' })
    await expect(processOnce(t.db, 'm', handler, { ...opts(), consumer: 'c'.repeat(2_000) })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'consumer' })
    expect(calls).toBe(0)
  })

  test('a missing inbox table is reported as SchemaNotMigratedError', async () => {
    await expect(processOnce(t.db, 'm', async () => {}, { schema: `${t.schema}_none` })).rejects.toBeInstanceOf(SchemaNotMigratedError)
  })
})
