import type { Executor } from './executor.js'
import { knexExecutor } from './knex-executor.js'
import { kyselyExecutor } from './kysely-executor.js'

/** The part of a MikroORM (SQL driver) EntityManager txbox uses. */
interface EntityManagerLike {
  isInTransaction(): boolean
  getTransactionContext(): unknown
  transactional(fn: (em: EntityManagerLike) => Promise<unknown>): Promise<unknown>
  getConnection(): { getKnex?(): unknown; getClient?(): unknown }
}

/**
 * MikroORM 6 (@mikro-orm/postgresql): the `em` of
 * `em.transactional(async (em) => …)`, or an em after `em.begin()`.
 *
 * Statements run on the em's transaction context, the query builder's own
 * transaction (knex's `trx` in MikroORM 6, Kysely's in 7), not through
 * `em.execute()`: that one formats the values into the SQL text client-side
 * and spreads an array into a list, which breaks `unnest($1::text[])`.
 */
export const mikroOrmExecutor: Executor = {
  name: 'MikroORM',
  recognises: (handle) => {
    const em = handle as EntityManagerLike
    return (
      typeof em.isInTransaction === 'function' &&
      typeof em.transactional === 'function' &&
      typeof em.getTransactionContext === 'function' &&
      typeof em.getConnection === 'function'
    )
  },
  notInTransaction(handle) {
    const em = handle as EntityManagerLike
    if (!em.isInTransaction()) {
      return 'enqueueOnCommit was given a MikroORM EntityManager that is not inside a transaction, so the message would commit on its own: pass the `em` of em.transactional(async (em) => { await enqueueOnCommit(em, message) }), or use withTransaction(em, async (em) => { … }).'
    }
    if (!builderOf(em.getTransactionContext())) {
      return 'enqueueOnCommit supports MikroORM with an SQL driver on PostgreSQL (@mikro-orm/postgresql); this EntityManager’s transaction is of another kind.'
    }
    return undefined
  },
  run(handle, text, values) {
    const em = handle as EntityManagerLike
    const connection = em.getConnection()
    const target = em.isInTransaction() ? em.getTransactionContext() : (connection.getKnex?.() ?? connection.getClient?.())
    const builder = builderOf(target)
    if (!builder) throw new Error('txbox: this MikroORM EntityManager runs on a driver txbox does not support (@mikro-orm/postgresql).')
    return builder.run(target as object, text, values)
  },
  transaction: (client, fn) => (client as EntityManagerLike).transactional(fn as (em: EntityManagerLike) => Promise<unknown>) as Promise<any>,
  // transactional() on an em inside a transaction opens a savepoint, with a forked em.
  savepoint: (tx, fn) => (tx as EntityManagerLike).transactional(fn as (em: EntityManagerLike) => Promise<unknown>) as Promise<any>,
}

/** The executor of the query builder under MikroORM: knex (6.x) or Kysely (7.x). */
function builderOf(context: unknown): Executor | undefined {
  if ((typeof context !== 'object' && typeof context !== 'function') || context === null) return undefined
  return [knexExecutor, kyselyExecutor].find((executor) => executor.recognises(context))
}
