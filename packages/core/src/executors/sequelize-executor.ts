import type { Executor } from './executor.js'

/** The part of a Sequelize instance txbox uses. */
interface SequelizeLike {
  query(sql: string, options: { bind: unknown[]; transaction: TransactionLike; raw: true; type: string }): Promise<unknown>
  transaction(options: { transaction?: TransactionLike }, fn: (t: TransactionLike) => Promise<unknown>): Promise<unknown>
  getQueryInterface(): unknown
}

/** The part of a Sequelize Transaction txbox uses. */
interface TransactionLike {
  /** The Sequelize instance the transaction belongs to (set by Sequelize 6's constructor). */
  sequelize: SequelizeLike
  /** Set once the transaction committed or rolled back. */
  finished?: string
  commit(): Promise<void>
  rollback(): Promise<void>
  afterCommit(fn: () => unknown): void
}

/**
 * Sequelize 6: the Transaction `t` of a managed transaction,
 * `sequelize.transaction(async (t) => …)`. A Sequelize Transaction carries its
 * Sequelize instance, so it can run SQL by itself and is passed as it is.
 */
export const sequelizeExecutor: Executor = {
  name: 'Sequelize',
  recognises: (handle) => isTransaction(handle) || isSequelize(handle),
  notInTransaction(handle) {
    if (isTransaction(handle)) {
      return handle.finished ? `enqueueOnCommit was given a Sequelize transaction that has already ended (${handle.finished}): enqueue before it commits.` : undefined
    }
    return 'enqueueOnCommit was given the Sequelize instance, not a transaction, so the message would commit on its own, whether or not your data does: pass the transaction of sequelize.transaction(async (t) => { await enqueueOnCommit(t, message) }), or use withTransaction(sequelize, async (t) => { … }).'
  },
  async run(handle, text, values) {
    const t = isTransaction(handle) ? handle : undefined
    const sequelize = t ? t.sequelize : (handle as SequelizeLike)
    // Sequelize's bind parameters are PostgreSQL's own `$1…$n`; type SELECT
    // makes query() resolve to the rows alone.
    const rows = await sequelize.query(text, { bind: values as unknown[], transaction: t as TransactionLike, raw: true, type: 'SELECT' })
    return { rows: Array.isArray(rows) ? rows : [] }
  },
  transaction: (client, fn) => (client as SequelizeLike).transaction({}, fn as (t: TransactionLike) => Promise<unknown>) as Promise<any>,
  // A transaction given a parent transaction is a SAVEPOINT in it.
  savepoint: (tx, fn) => (tx as TransactionLike).sequelize.transaction({ transaction: tx as TransactionLike }, fn as (t: TransactionLike) => Promise<unknown>) as Promise<any>,
}

function isTransaction(handle: object): handle is TransactionLike {
  const t = handle as TransactionLike
  return typeof t.commit === 'function' && typeof t.rollback === 'function' && typeof t.afterCommit === 'function' && typeof t.sequelize === 'object' && t.sequelize !== null
}

function isSequelize(handle: object): handle is SequelizeLike {
  const s = handle as SequelizeLike
  return typeof s.query === 'function' && typeof s.transaction === 'function' && typeof s.getQueryInterface === 'function'
}
