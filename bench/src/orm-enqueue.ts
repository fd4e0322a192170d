// What an enqueue costs through each ORM: the same ORM transaction (one user
// INSERT) alone, with enqueueOnCommit(tx) added, and opened by
// withTransaction(client) with the enqueue (hooks and after-commit signal
// included). Figures are time ratios against the ORM's own transaction alone.
//   pnpm --filter @txbox/bench bench:orms [--quick] [--only=prisma,knex]
// Needs `pnpm build` first (it generates the Prisma client this imports).
import { MikroORM } from '@mikro-orm/postgresql'
import { PrismaPg } from '@prisma/adapter-pg'
import { enqueueOnCommit, migrate, withTransaction } from '@txbox/core'
import { sql as dsql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePostgresJs } from 'drizzle-orm/postgres-js'
import knex from 'knex'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import postgres from 'postgres'
import { Sequelize } from 'sequelize'
import { DataSource } from 'typeorm'
// The client `pnpm build` generates for the ORM tests; the bench reuses it.
import { PrismaClient } from '../../test/orms/prisma/generated/client.js'
import { readConfig } from './support/config.js'
import { createPool, dropSchema, kyselyOn, schemaName } from './support/db.js'
import { closedLoopThroughput, interleavedRounds } from './support/rounds.js'
import { formatSummary, pairedRatio, summarize } from './support/stats.js'
import { renderTable } from './support/table.js'

/** One ORM, opened on the bench schema: its client, its own transaction, a user INSERT through it. */
interface OrmUnderTest {
  readonly client: object
  transaction(fn: (tx: any) => Promise<void>): Promise<unknown>
  /** One INSERT of a user row through the ORM's raw-SQL call on `tx`. */
  insertUser(tx: any, email: string): Promise<unknown>
  close(): Promise<void>
}

type Opener = (url: string, schema: string, max: number) => Promise<OrmUnderTest>
const searchPath = (schema: string) => `-c search_path=${schema},public`
const INSERT = 'insert into users (email) values ($1)'

const ORMS: Record<string, Opener> = {
  kysely: async (url, schema, max) => {
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max, options: searchPath(schema) }) }) })
    return { client: db, transaction: (fn) => db.transaction().execute(fn), insertUser: (trx, email) => trx.insertInto('users').values({ email }).execute(), close: () => db.destroy() }
  },
  prisma: async (url, schema, max) => {
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max }, { schema }) })
    return { client: prisma, transaction: (fn) => prisma.$transaction(fn), insertUser: (tx, email) => tx.user.create({ data: { email } }), close: () => prisma.$disconnect() }
  },
  drizzle_pg: async (url, schema, max) => {
    const pool = new pg.Pool({ connectionString: url, max, options: searchPath(schema) })
    const db = drizzlePg(pool)
    return { client: db, transaction: (fn) => db.transaction(fn), insertUser: (tx, email) => tx.execute(dsql`insert into users (email) values (${email})`), close: () => pool.end() }
  },
  drizzle_postgres_js: async (url, schema, max) => {
    const sql = postgres(url, { max, onnotice: () => {}, connection: { search_path: `${schema},public` } })
    const db = drizzlePostgresJs(sql)
    return { client: db, transaction: (fn) => db.transaction(fn), insertUser: (tx, email) => tx.execute(dsql`insert into users (email) values (${email})`), close: () => sql.end() }
  },
  typeorm: async (url, schema, max) => {
    const dataSource = await new DataSource({ type: 'postgres', url, schema, extra: { max, options: searchPath(schema) } }).initialize()
    return { client: dataSource, transaction: (fn) => dataSource.transaction(fn), insertUser: (m, email) => m.query(INSERT, [email]), close: () => dataSource.destroy() }
  },
  knex: async (url, schema, max) => {
    const db = knex({ client: 'pg', connection: { connectionString: url, options: searchPath(schema) }, pool: { min: 0, max } })
    return { client: db, transaction: (fn) => db.transaction(fn), insertUser: (trx, email) => trx('users').insert({ email }), close: () => db.destroy() }
  },
  mikro_orm: async (url, schema, max) => {
    const orm = await MikroORM.init({ clientUrl: url, schema, entities: [], discovery: { warnWhenNoEntities: false }, pool: { min: 0, max }, allowGlobalContext: true })
    const em = orm.em.fork()
    return { client: em, transaction: (fn) => em.transactional(fn), insertUser: (tx, email) => tx.execute(`insert into "${schema}".users (email) values (?)`, [email]), close: () => orm.close(true) }
  },
  sequelize: async (url, schema, max) => {
    const sequelize = new Sequelize(url, { dialect: 'postgres', logging: false, pool: { max, min: 0 }, dialectOptions: { options: searchPath(schema) } })
    return {
      client: sequelize,
      transaction: (fn) => sequelize.transaction(fn),
      insertUser: (t, email) => sequelize.query(INSERT, { bind: [email], transaction: t }),
      close: () => sequelize.close(),
    }
  },
  postgres_js: async (url, schema, max) => {
    const sql = postgres(url, { max, onnotice: () => {}, connection: { search_path: `${schema},public` } })
    return { client: sql, transaction: (fn) => sql.begin(fn), insertUser: (tx, email) => tx.unsafe(INSERT, [email]), close: () => sql.end() }
  },
}

const PATHS = ['ORM transaction', '+ enqueueOnCommit(tx)', 'withTransaction + enqueue'] as const
type Path = (typeof PATHS)[number]
const CLIENT_COUNTS = [1, 8] as const

async function main(): Promise<void> {
  const config = readConfig(process.argv.slice(2))
  const rounds = config.quick ? 3 : 5
  const durationMs = config.quick ? 500 : 2000
  const names = Object.keys(ORMS).filter((n) => config.only.length === 0 || config.only.includes(n))
  const schema = schemaName(config, 'orms')
  const admin = createPool(config, 2)
  const rows: string[][] = []
  const figures: Record<string, number> = {}
  try {
    await admin.query(`CREATE SCHEMA "${schema}"`)
    await admin.query(`CREATE TABLE "${schema}".users (id serial PRIMARY KEY, email text NOT NULL)`)
    const adminDb = kyselyOn(createPool(config, 1))
    await migrate(adminDb, { schema })
    await adminDb.destroy()
    const truncate = () => admin.query(`TRUNCATE "${schema}".users, "${schema}".outbox`)
    for (const name of names) {
      const orm = await (ORMS[name] as Opener)(config.databaseUrl, schema, Math.max(...CLIENT_COUNTS))
      try {
        let seq = 0
        const email = () => `u${++seq}@example.com`
        const message = () => ({ topic: 'email.welcome', key: `user:${seq}`, payload: { userId: seq } })
        const work: Record<Path, () => Promise<void>> = {
          'ORM transaction': async () => {
            await orm.transaction(async (tx) => void (await orm.insertUser(tx, email())))
          },
          '+ enqueueOnCommit(tx)': async () => {
            await orm.transaction(async (tx) => {
              await orm.insertUser(tx, email())
              await enqueueOnCommit(tx, message(), { schema })
            })
          },
          'withTransaction + enqueue': () =>
            withTransaction(orm.client, async (tx: any) => {
              await orm.insertUser(tx, email())
              await enqueueOnCommit(tx, message(), { schema })
            }),
        }
        for (const p of PATHS) await work[p]() // warm connections and plans
        for (const clients of CLIENT_COUNTS) {
          console.log(`  ${name}, ${clients} client(s): ${rounds} rounds × ${PATHS.length} paths × ${durationMs} ms`)
          const tps = await interleavedRounds(rounds, PATHS, async (p) => {
            await truncate()
            return closedLoopThroughput(clients, durationMs, work[p])
          })
          const base = tps['ORM transaction']
          const enqueue = pairedRatio(base, tps['+ enqueueOnCommit(tx)'])
          const wrapped = pairedRatio(base, tps['withTransaction + enqueue'])
          rows.push([name, String(clients), formatSummary(summarize(base)), formatSummary(enqueue, 2), formatSummary(wrapped, 2)])
          figures[`orm_enqueue_ratio_${name}_${clients}`] = Number(enqueue.median.toFixed(3))
        }
      } finally {
        await orm.close()
      }
    }
    await truncate()
  } finally {
    await dropSchema(admin, schema).catch(() => {})
    await admin.end()
  }
  console.log(
    `\n${renderTable({
      title: `Enqueue cost through each ORM (median of ${rounds} rounds, range; ${durationMs} ms each): time ratio = ORM transaction tx/s ÷ path tx/s`,
      headers: ['ORM', 'clients', 'ORM transaction tx/s', '+ enqueueOnCommit(tx)', 'withTransaction + enqueue'],
      rows,
    })}`,
  )
  console.log('\nEvery transaction: BEGIN; INSERT a user row through the ORM; (enqueue one keyed message); COMMIT.')
  console.log(JSON.stringify(figures))
}

await main()
