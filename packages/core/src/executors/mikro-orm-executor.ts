import type { Executor } from './executor.js'
import { toQuestionMarks } from './question-mark-placeholders.js'

/** The part of a MikroORM (SQL driver) EntityManager txbox uses. */
interface EntityManagerLike {
  isInTransaction(): boolean
  getTransactionContext(): unknown
  transactional(fn: (em: EntityManagerLike) => Promise<unknown>): Promise<unknown>
  /** SqlEntityManager: runs raw SQL (knex's `?` placeholders in 6.x) in the em's transaction, if any. */
  execute(query: string, params?: unknown[], method?: 'all' | 'get' | 'run'): Promise<unknown>
  getConnection(): unknown
}

/**
 * MikroORM 6 (@mikro-orm/postgresql): the `em` of
 * `em.transactional(async (em) => …)`, or an em after `em.begin()`.
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
    if (typeof em.execute !== 'function') return 'enqueueOnCommit supports MikroORM with an SQL driver (@mikro-orm/postgresql): this EntityManager cannot run SQL.'
    if (em.isInTransaction()) return undefined
    return 'enqueueOnCommit was given a MikroORM EntityManager that is not inside a transaction, so the message would commit on its own: pass the `em` of em.transactional(async (em) => { await enqueueOnCommit(em, message) }), or use withTransaction(em, async (em) => { … }).'
  },
  async run(handle, text, values) {
    const q = toQuestionMarks(text, values)
    const rows = await (handle as EntityManagerLike).execute(q.text, q.values, 'all')
    return { rows: Array.isArray(rows) ? rows : [] }
  },
  transaction: (client, fn) => (client as EntityManagerLike).transactional(fn as (em: EntityManagerLike) => Promise<unknown>) as Promise<any>,
  // transactional() on an em inside a transaction opens a savepoint, with a forked em.
  savepoint: (tx, fn) => (tx as EntityManagerLike).transactional(fn as (em: EntityManagerLike) => Promise<unknown>) as Promise<any>,
}
