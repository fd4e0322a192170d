import { describeExecutorConformance } from '@txbox/testing'
import { Kysely, PostgresDialect, type Transaction } from 'kysely'
import pg from 'pg'

describeExecutorConformance('kysely', async ({ url, pgOptions }) => {
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, options: pgOptions, max: 3 }) }) })
  return {
    client: db,
    transaction: (fn) => db.transaction().execute(fn),
    insertUser: async (trx: Transaction<any>, email) => {
      await trx.insertInto('users').values({ email }).execute()
    },
    outside: [{ what: 'the Kysely instance', handle: db, advice: /db\.transaction\(\)\.execute\(async \(trx\)/ }],
    close: () => db.destroy(),
  }
})
