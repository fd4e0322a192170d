import { isPgClient, type PgClientLike, runSql } from '../sql-executor.js'
import type { Executor } from './executor.js'

/** node-postgres: a `pg.Client` or `PoolClient` the caller put inside `BEGIN`. */
export const pgExecutor: Executor = {
  name: 'node-postgres',
  recognises: (handle) => isPgClient(handle),
  notInTransaction(handle) {
    if (isPgPool(handle)) {
      return "enqueueOnCommit was given a pg.Pool: each pool.query() is its own transaction, so the message would commit on its own. Check out a client (`const client = await pool.connect()`), run `await client.query('BEGIN')`, and pass the client."
    }
    const client = handle as PgClientLike
    if (typeof client.getTransactionStatus !== 'function') {
      return 'enqueueOnCommit was given a node-postgres client that cannot say whether it is inside a transaction (node-postgres before 8.21 has no getTransactionStatus()). Upgrade pg to 8.21 or newer, or pass a Kysely transaction.'
    }
    const status = client.getTransactionStatus()
    if (status === 'I') {
      return "enqueueOnCommit was given a node-postgres client that is not inside a transaction. Run `await client.query('BEGIN')` first, and COMMIT after enqueueing."
    }
    if (status === 'E') return 'enqueueOnCommit was given a node-postgres client whose transaction has failed: roll it back (ROLLBACK) and start again.'
    return undefined
  },
  run: (handle, text, values) => runSql(handle as PgClientLike, text, values),
}

export function isPgPool(handle: object): boolean {
  return typeof (handle as { connect?: unknown }).connect === 'function' && typeof (handle as { totalCount?: unknown }).totalCount === 'number'
}
