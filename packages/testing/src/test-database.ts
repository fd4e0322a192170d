import { randomBytes } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { serviceUrls } from './services.js'

export interface TestDatabase {
  /** A Kysely instance whose search_path is the file's own schema. */
  readonly db: Kysely<any>
  /** The pg pool behind `db` (also usable for LISTEN). */
  readonly pool: pg.Pool
  /** The file's own schema: txbox's tables and the test's tables live here. */
  readonly schema: string
  readonly url: string
  /** A fresh pg client on the same database (the caller ends it). */
  client(): Promise<pg.Client>
}

/** Builds a unique, valid identifier for this test file: `t_<prefix>_<random>`. */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 20)
  return `t_${clean}_${randomBytes(4).toString('hex')}`
}

/**
 * Gives the calling test file its own schema on the test PostgreSQL, and drops
 * it when the file ends. If any test in the file failed, the schema is kept
 * (its name is printed) so its state can be inspected.
 */
export function useTestDatabase(prefix = 'db', options: { poolSize?: number } = {}): TestDatabase {
  const url = serviceUrls().databaseUrl
  const schema = uniqueName(prefix)
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 4,
    options: `-c search_path=${schema},public`,
  })
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  let created: Promise<void> | undefined
  let failed = false

  const ensureSchema = () => {
    created ??= sql`create schema if not exists ${sql.id(schema)}`.execute(db).then(() => undefined)
    return created
  }

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true
  })
  afterAll(async () => {
    if (failed) {
      console.warn(`[txbox tests] a test failed: schema ${schema} kept on ${url.replace(/:[^:@/]*@/, ':***@')} for inspection`)
    } else {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db)
    }
    await db.destroy()
  })

  beforeAll(ensureSchema)

  return {
    db,
    pool,
    schema,
    url,
    async client() {
      await ensureSchema()
      const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema},public` })
      await client.connect()
      return client
    },
  }
}
