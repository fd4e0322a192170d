import { describeExecutorConformance } from '@txbox/testing'
import { sql } from 'drizzle-orm'
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'

// pg-boss #852: Drizzle on postgres.js returns a bare array of rows, not { rows }.
describeExecutorConformance('drizzle_postgres_js', async ({ url, schema }) => {
  const client = postgres(url, { max: 3, onnotice: () => {}, connection: { search_path: `${schema},public` } })
  const db = drizzle(client)
  type Tx = Parameters<Parameters<PostgresJsDatabase['transaction']>[0]>[0]
  return {
    client: db,
    transaction: (fn) => db.transaction(fn),
    insertUser: async (tx: Tx, email) => {
      await tx.execute(sql`insert into users (email) values (${email})`)
    },
    outside: [{ what: 'the Drizzle db', handle: db, advice: /db\.transaction\(async \(tx\)/ }],
    close: () => client.end(),
  }
})
