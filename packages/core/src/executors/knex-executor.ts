import type { Executor } from './executor.js'
import { toQuestionMarks } from './question-mark-placeholders.js'

/** The part of a knex instance or transaction txbox uses. */
interface KnexLike {
  (table?: string): unknown
  raw(sql: string, bindings: unknown[]): PromiseLike<{ rows?: unknown[] }>
  transaction(fn: (trx: KnexLike) => Promise<unknown>): Promise<unknown>
  client: { config?: { client?: unknown } }
  /** True on a transaction (`trx`). */
  isTransaction?: boolean
  isCompleted?(): boolean
}

/** knex on PostgreSQL: the `trx` of `knex.transaction(async (trx) => …)`. */
export const knexExecutor: Executor = {
  name: 'knex',
  recognises: (handle) => {
    const k = handle as KnexLike
    return typeof handle === 'function' && typeof k.raw === 'function' && typeof k.transaction === 'function' && typeof k.client === 'object' && k.client !== null
  },
  notInTransaction(handle) {
    const k = handle as KnexLike
    if (k.isTransaction === true && k.isCompleted?.() !== true) return undefined
    if (k.isTransaction === true) return 'enqueueOnCommit was given a knex transaction that has already committed or rolled back: enqueue before it ends.'
    return 'enqueueOnCommit was given the knex instance, not a transaction, so the message would commit on its own, whether or not your data does: pass the `trx` of knex.transaction(async (trx) => { await enqueueOnCommit(trx, message) }), or use withTransaction(knex, async (trx) => { … }).'
  },
  async run(handle, text, values) {
    const q = toQuestionMarks(text, values)
    // knex returns the driver's result: node-postgres's, with `rows`.
    const result = await (handle as KnexLike).raw(q.text, q.values)
    return { rows: Array.isArray(result?.rows) ? result.rows : [] }
  },
  transaction: (client, fn) => (client as KnexLike).transaction(fn as (trx: KnexLike) => Promise<unknown>) as Promise<any>,
  savepoint: (tx, fn) => (tx as KnexLike).transaction(fn as (trx: KnexLike) => Promise<unknown>) as Promise<any>,
}
