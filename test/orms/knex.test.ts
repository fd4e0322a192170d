import { describeExecutorConformance } from '@txbox/testing'
import knex, { type Knex } from 'knex'

describeExecutorConformance('knex', async ({ url, pgOptions }) => {
  const db = knex({ client: 'pg', connection: { connectionString: url, options: pgOptions }, pool: { min: 0, max: 3 } })
  return {
    client: db,
    transaction: (fn) => db.transaction(fn),
    insertUser: async (trx: Knex.Transaction, email) => {
      await trx('users').insert({ email })
    },
    outside: [{ what: 'the knex instance', handle: db, advice: /knex\.transaction\(async \(trx\)/ }],
    close: () => db.destroy(),
  }
})
