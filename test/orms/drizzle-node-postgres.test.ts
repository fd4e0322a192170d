import { describeExecutorConformance } from '@txbox/testing'
import { sql } from 'drizzle-orm'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import pg from 'pg'

describeExecutorConformance('drizzle_pg', async ({ url, pgOptions }) => {
  const pool = new pg.Pool({ connectionString: url, options: pgOptions, max: 3 })
  const db = drizzle(pool)
  type Tx = Parameters<Parameters<NodePgDatabase['transaction']>[0]>[0]
  return {
    client: db,
    transaction: (fn) => db.transaction(fn),
    insertUser: async (tx: Tx, email) => {
      await tx.execute(sql`insert into users (email) values (${email})`)
    },
    outside: [
      { what: 'the Drizzle db', handle: db, advice: /db\.transaction\(async \(tx\)/ },
      { what: 'the pool under it', handle: pool, advice: /pool\.connect\(\)/ },
    ],
    close: () => pool.end(),
  }
})
