import { isPgClient, type PgClientLike, runText } from '../sql-executor.js'
import type { Executor } from './executor.js'

/** The part of a `pg.Pool` withTransaction uses. */
interface PgPoolLike {
  connect(): Promise<PgClientLike & { release(error?: Error | boolean): void }>
}

/**
 * node-postgres: a `pg.Client` or `PoolClient` the caller put inside `BEGIN`.
 * withTransaction takes a `pg.Pool` (or a client outside a transaction): it
 * checks a client out, runs BEGIN … COMMIT on it and hands `fn` the client.
 */
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
  run: (handle, text, values) => runText(handle as PgClientLike, text, values),
  async transaction(poolOrClient, fn) {
    const pooled = isPgPool(poolOrClient) ? await (poolOrClient as PgPoolLike).connect() : undefined
    const client = pooled ?? (poolOrClient as PgClientLike)
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      try {
        const result = await fn(client)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          // The connection is gone or unusable: the pool must not reuse it.
          broken = rollbackError
        })
        throw error
      }
    } finally {
      pooled?.release(broken ?? false)
    }
  },
  async savepoint(client, fn) {
    const name = `txbox_sp_${(savepointDepth.get(client) ?? 0) + 1}`
    savepointDepth.set(client, (savepointDepth.get(client) ?? 0) + 1)
    const c = client as PgClientLike
    try {
      await c.query(`SAVEPOINT ${name}`)
      try {
        const result = await fn(client)
        await c.query(`RELEASE SAVEPOINT ${name}`)
        return result
      } catch (error) {
        await c.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => {})
        throw error
      }
    } finally {
      savepointDepth.set(client, (savepointDepth.get(client) ?? 1) - 1)
    }
  },
}

/** Savepoints open on each client, for their names (nested ones need distinct names to roll back the right one). */
const savepointDepth = new WeakMap<object, number>()

export function isPgPool(handle: object): boolean {
  return typeof (handle as { connect?: unknown }).connect === 'function' && typeof (handle as { totalCount?: unknown }).totalCount === 'number'
}
