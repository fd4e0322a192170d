import { type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'

export interface AppDatabase {
  users: { id: Generated<number>; email: string; created_at: Generated<Date> }
  welcome_emails: { user_id: number; sent_at: Generated<Date> }
}

/** A pool and the Kysely instance on it. The relay LISTENs on the same pool. */
export function connect(databaseUrl: string, poolOptions: pg.PoolConfig = {}): { db: Kysely<AppDatabase>; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, ...poolOptions })
  return { db: new Kysely<AppDatabase>({ dialect: new PostgresDialect({ pool }) }), pool }
}

/** The app's own tables. In a real app your migration tool creates them; txbox's come from migrate(). */
export async function createAppTables(db: Kysely<AppDatabase>): Promise<void> {
  await db.schema
    .createTable('users')
    .ifNotExists()
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createTable('welcome_emails')
    .ifNotExists()
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id'))
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}
