import { type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { migrate } from '@txbox/core'
import { brokers, databaseUrl, outboxTables, type RunNames } from './settings.js'

export interface DemoDatabase {
  users: { id: Generated<number>; email: string; scenario: string }
}

/** A small pool whose search_path is the run's schema. */
export function connect(names: RunNames, max = 4): { db: Kysely<DemoDatabase>; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, options: `-c search_path=${names.schema}` })
  return { db: new Kysely<DemoDatabase>({ dialect: new PostgresDialect({ pool }) }), pool }
}

/** The app's table and txbox's tables (an outbox per broker, one inbox), in the run's own schema. */
export async function createSchema(db: Kysely<DemoDatabase>, names: RunNames): Promise<void> {
  await sql`create schema ${sql.id(names.schema)}`.execute(db)
  await db.schema
    .createTable('users')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('scenario', 'text', (c) => c.notNull())
    .execute()
  for (const broker of brokers) await migrate(db, { schema: names.schema, ...outboxTables(broker) })
}

export async function dropSchema(db: Kysely<DemoDatabase>, names: RunNames): Promise<void> {
  await sql`drop schema if exists ${sql.id(names.schema)} cascade`.execute(db)
}

/** The ground truth: the users whose signup committed. */
export async function committedUsers(db: Kysely<DemoDatabase>, scenario: string): Promise<Set<number>> {
  const rows = await db.selectFrom('users').select('id').where('scenario', '=', scenario).execute()
  return new Set(rows.map((r) => r.id))
}

/** Outbox rows not yet published, over every broker's outbox. */
export async function outboxBacklog(db: Kysely<DemoDatabase>, names: RunNames): Promise<number> {
  let backlog = 0
  for (const broker of brokers) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.id(names.schema, outboxTables(broker).outboxTable)}`.execute(db)
    backlog += rows[0]!.n
  }
  return backlog
}
