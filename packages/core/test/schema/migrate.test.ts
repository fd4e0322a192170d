import { readFileSync } from 'node:fs'
import { InvalidIdentifierError, InvalidOptionError, migrate, migrationSql } from '@txbox/core'
import { useTestDatabase } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { describe, expect, test } from 'vitest'
import { sqlFiles } from '../../src/schema/sql-files.js'

const t = useTestDatabase('migrate')

const tables = async (schema: string) =>
  (
    await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = ${schema} order by 1`.execute(t.db)
  ).rows.map((r) => r.table_name)

describe('migrate', () => {
  test('creates the outbox, dead letters and inbox tables, and is idempotent', async () => {
    const schema = `${t.schema}_a`
    const first = await migrate(t.db, { schema })
    expect(first).toEqual({ from: 0, to: 1, applied: [1] })
    expect(await tables(schema)).toEqual(['inbox', 'outbox', 'outbox_dead', 'txbox_migrations'])
    const second = await migrate(t.db, { schema })
    expect(second).toEqual({ from: 1, to: 1, applied: [] })
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
