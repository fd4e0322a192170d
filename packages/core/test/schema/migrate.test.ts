import { readFileSync } from 'node:fs'
import {
  enqueueOnCommit,
  InvalidIdentifierError,
  InvalidOptionError,
  migrate,
  migrationSql,
  processOnce,
  SchemaNotMigratedError,
  type TableOptions,
  withTransaction,
} from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { describe, expect, test } from 'vitest'
import { migrations } from '../../src/schema/migrations.js'
import { sqlFiles } from '../../src/schema/sql-files.js'

/** Every migration's version, and the latest. */
const ALL = migrations.map((m) => m.version)
const LATEST = ALL.at(-1) as number

const t = useTestDatabase('migrate')

const tables = async (schema: string) =>
  (
    await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = ${schema} order by 1`.execute(t.db)
  ).rows.map((r) => r.table_name)

describe('migrate', () => {
  test('creates the outbox, dead letters and inbox tables, and is idempotent', async () => {
    const schema = `${t.schema}_a`
    const first = await migrate(t.db, { schema })
    expect(first).toEqual({ from: 0, to: LATEST, applied: ALL })
    expect(await tables(schema)).toEqual(['inbox', 'outbox', 'outbox_dead', 'txbox_migrations'])
    const second = await migrate(t.db, { schema })
    expect(second).toEqual({ from: LATEST, to: LATEST, applied: [] })
    await sql`drop schema ${sql.id(schema)} cascade`.execute(t.db)
  })

  test('is safe when several processes run it at once: one applies, the others find nothing to do', async () => {
    const schema = `${t.schema}_b`
    // Separate pools: separate sessions, as separate processes would have.
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: t.url, max: 1 }))
    const dbs = pools.map((pool) => new Kysely<any>({ dialect: new PostgresDialect({ pool }) }))
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db, { schema })))
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1)
      expect(await tables(schema)).toContain('outbox')
    } finally {
      await Promise.all(dbs.map((db) => db.destroy()))
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(t.db)
    }
  })

  test('table names are configurable', async () => {
    const schema = `${t.schema}_c`
    await migrate(t.db, { schema, outboxTable: 'events', deadTable: 'events_dead', inboxTable: 'seen' })
    expect(await tables(schema)).toEqual(['events', 'events_dead', 'seen', 'txbox_migrations'])
    await sql`drop schema ${sql.id(schema)} cascade`.execute(t.db)
  })

  test.each([
    ['schema', { schema: 'Bad-Name' }],
    ['schema', { schema: 'x; drop table users' }],
    ['outboxTable', { outboxTable: '"quoted"' }],
    ['schema', { schema: '' }],
    ['schema', { schema: 'a'.repeat(49) }],
    ['schema', { schema: 42 }],
  ])('a bad %s is rejected before any SQL: %o', async (_what, options) => {
    await expect(migrate(t.db, options as never)).rejects.toThrow(InvalidIdentifierError)
  })

  test('unknown options are rejected', async () => {
    await expect(migrate(t.db, { schemaName: 'x' } as never)).rejects.toThrow(InvalidOptionError)
  })

  test('the shipped SQL files are the migrations for the default names (run `pnpm --filter @txbox/core sql:write` after a change)', () => {
    for (const file of sqlFiles()) {
      const shipped = readFileSync(new URL(`../../sql/${file.name}`, import.meta.url), 'utf8')
      expect(shipped, file.name).toBe(file.text)
    }
    expect(migrationSql({ schema: 'x' } as never)).toContain('"x"."outbox"')
  })
})

/** What `migrate` of the releases before the per-table-set ledger left behind: one table set and a ledger keyed by version alone. */
async function migrateAsPreviousRelease(options: { schema: string; outboxTable?: string; deadTable?: string; inboxTable?: string }) {
  await sql.raw(migrationSql(options)).execute(t.db)
  await sql
    .raw(`CREATE TABLE IF NOT EXISTS "${options.schema}"."txbox_migrations" (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO "${options.schema}"."txbox_migrations" (version, name) VALUES (1, 'create_outbox');`)
    .execute(t.db)
}

const enqueueInto = (options: TableOptions) => withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'orders', payload: 1 }, options))
const rowsIn = async (schema: string, table: string) =>
  Number((await sql<{ n: string }>`select count(*) as n from ${sql.id(schema, table)}`.execute(t.db)).rows[0]?.n)
const dropSchema = (schema: string) => sql`drop schema if exists ${sql.id(schema)} cascade`.execute(t.db)

describe('each table set of a schema is migrated on its own', () => {
  const orders = { outboxTable: 'orders_outbox', deadTable: 'orders_outbox_dead' }

  test('a second outbox in a migrated schema gets its tables, and enqueue into it works', async () => {
    const schema = `${t.schema}_sets`
    try {
      expect(await migrate(t.db, { schema })).toEqual({ from: 0, to: LATEST, applied: ALL })
      expect(await migrate(t.db, { schema, ...orders })).toEqual({ from: 0, to: LATEST, applied: ALL })
      expect(await migrate(t.db, { schema, ...orders })).toEqual({ from: LATEST, to: LATEST, applied: [] })
      expect(await migrate(t.db, { schema })).toEqual({ from: LATEST, to: LATEST, applied: [] })
      await enqueueInto({ schema, ...orders })
      expect(await rowsIn(schema, 'orders_outbox')).toBe(1)
    } finally {
      await dropSchema(schema)
    }
  })

  test('several processes migrating one new schema, each with its own table set, all succeed', async () => {
    // Separate pools: separate sessions, as separate processes would have.
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: t.url, max: 1 }))
    const dbs = pools.map((pool) => new Kysely<any>({ dialect: new PostgresDialect({ pool }) }))
    const schemas = Array.from({ length: 3 }, (_, round) => `${t.schema}_race${round}`)
    try {
      for (const schema of schemas) {
        const results = await Promise.allSettled(
          dbs.map((db, i) => migrate(db, { schema, outboxTable: `outbox_${i}`, deadTable: `outbox_${i}_dead` })),
        )
        expect(results.map((r) => (r.status === 'fulfilled' ? r.value.applied : String(r.reason)))).toEqual(dbs.map(() => ALL))
        for (let i = 0; i < dbs.length; i++) await enqueueInto({ schema, outboxTable: `outbox_${i}`, deadTable: `outbox_${i}_dead` })
      }
    } finally {
      await Promise.all(dbs.map((db) => db.destroy()))
      for (const schema of schemas) await dropSchema(schema)
    }
  })

  test('a schema migrated by the previous release (a ledger without table names) upgrades: its set is kept, a new set gets its tables', async () => {
    const schema = `${t.schema}_legacy`
    const events = { schema, outboxTable: 'events', deadTable: 'events_dead', inboxTable: 'seen' }
    try {
      await migrateAsPreviousRelease(events)
      await enqueueInto(events)
      expect(await migrate(t.db, events)).toEqual({ from: 1, to: LATEST, applied: ALL.slice(1) })
      expect(await rowsIn(schema, 'events')).toBe(1)
      expect(await migrate(t.db, { schema, ...orders })).toEqual({ from: 0, to: LATEST, applied: ALL })
      await enqueueInto({ schema, ...orders })
      expect(await migrate(t.db, events)).toEqual({ from: LATEST, to: LATEST, applied: [] })
      const ledger = await sql<{ outbox_table: string | null }>`select outbox_table from ${sql.id(schema, 'txbox_migrations')} order by 1`.execute(t.db)
      expect(ledger.rows.map((r) => r.outbox_table)).toEqual([...ALL.map(() => 'events'), ...ALL.map(() => 'orders_outbox'), null])
    } finally {
      await dropSchema(schema)
    }
  })

  test('the shipped SQL file applied over a previous release ledger upgrades it; migrate then finds nothing to do', async () => {
    const schema = `${t.schema}_legacy_file`
    try {
      await migrateAsPreviousRelease({ schema })
      for (const file of sqlFiles()) await sql.raw(file.text.replaceAll('"txbox".', `"${schema}".`)).execute(t.db)
      expect(await migrate(t.db, { schema })).toEqual({ from: LATEST, to: LATEST, applied: [] })
      expect(await migrate(t.db, { schema, ...orders })).toEqual({ from: 0, to: LATEST, applied: ALL })
    } finally {
      await dropSchema(schema)
    }
  })

  test('a new outbox may not take the dead table of another: their ids would collide there', async () => {
    const schema = `${t.schema}_shared_dead`
    try {
      await migrate(t.db, { schema })
      const error = await migrate(t.db, { schema, outboxTable: 'orders_outbox' }).catch((e) => e)
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect(error.message).toContain("deadTable: 'orders_outbox_dead'")
      expect(await tables(schema)).not.toContain('orders_outbox')
    } finally {
      await dropSchema(schema)
    }
  })

  test('SchemaNotMigratedError names the table options of the set that is missing', async () => {
    const schema = `${t.schema}_advice`
    try {
      await migrate(t.db, { schema })
      const enqueueError = await enqueueInto({ schema, ...orders }).catch((e) => e)
      expect(enqueueError).toBeInstanceOf(SchemaNotMigratedError)
      expect(enqueueError.message).toMatch(/outboxTable/)
      const inboxError = await processOnce(t.db, 'm1', async () => {}, { schema, inboxTable: 'orders_inbox' }).catch((e) => e)
      expect(inboxError).toBeInstanceOf(SchemaNotMigratedError)
      expect(inboxError.message).toContain(`migrate(db, { schema: '${schema}', inboxTable: 'orders_inbox' })`)
    } finally {
      await dropSchema(schema)
    }
  })
})
