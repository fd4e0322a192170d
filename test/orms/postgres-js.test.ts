import { describeExecutorConformance } from '@txbox/testing'
import postgres from 'postgres'

describeExecutorConformance('postgres_js', async ({ url, schema }) => {
  const sql = postgres(url, { max: 3, onnotice: () => {}, connection: { search_path: `${schema},public` } })
  return {
    client: sql,
    transaction: (fn) => sql.begin(fn) as Promise<any>,
    insertUser: async (tx: postgres.TransactionSql, email) => {
      await tx`insert into users ${tx({ email })}`
    },
    outside: [{ what: 'the root sql', handle: sql, advice: /sql\.begin\(async \(sql\)/ }],
    close: () => sql.end(),
  }
})
