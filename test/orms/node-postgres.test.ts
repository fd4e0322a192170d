import { describeExecutorConformance } from '@txbox/testing'
import pg from 'pg'

describeExecutorConformance('pg', async ({ url, pgOptions }) => {
  const pool = new pg.Pool({ connectionString: url, options: pgOptions, max: 3 })
  const idle = await pool.connect()
  return {
    client: pool,
    async transaction(fn) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const result = await fn(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK')
        throw error
      } finally {
        client.release()
      }
    },
    insertUser: async (client: pg.PoolClient, email) => {
      await client.query('insert into users (email) values ($1)', [email])
    },
    outside: [
      { what: 'the pool', handle: pool, advice: /pool\.connect\(\)/ },
      { what: 'a client outside BEGIN', handle: idle, advice: /client\.query\('BEGIN'\)/ },
    ],
    close: async () => {
      idle.release()
      await pool.end()
    },
  }
})
