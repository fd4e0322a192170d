import type { Executor } from './executor.js'

/** The part of a TypeORM QueryRunner txbox uses. */
interface QueryRunnerLike {
  isTransactionActive: boolean
  isReleased: boolean
  query(query: string, parameters?: unknown[]): Promise<unknown>
  manager: EntityManagerLike
}

/** The part of a TypeORM EntityManager txbox uses. */
interface EntityManagerLike {
  queryRunner?: QueryRunnerLike
  query(query: string, parameters?: unknown[]): Promise<unknown>
  transaction(fn: (manager: EntityManagerLike) => Promise<unknown>): Promise<unknown>
}

/** The part of a TypeORM DataSource txbox uses. */
interface DataSourceLike {
  manager: EntityManagerLike
  transaction(fn: (manager: EntityManagerLike) => Promise<unknown>): Promise<unknown>
  createQueryRunner(): unknown
}

/**
 * TypeORM: the EntityManager of `dataSource.transaction(async (manager) => …)`,
 * or a QueryRunner after `startTransaction()`. Statements run on the query
 * runner, so on the transaction's connection.
 */
export const typeormExecutor: Executor = {
  name: 'TypeORM',
  recognises: (handle) => isQueryRunner(handle) || isEntityManager(handle) || isDataSource(handle),
  notInTransaction(handle) {
    const runner = runnerOf(handle)
    if (runner?.isTransactionActive && !runner.isReleased) return undefined
    if (isDataSource(handle)) {
      return 'enqueueOnCommit was given a TypeORM DataSource, not a transaction: pass the EntityManager of dataSource.transaction(async (manager) => { await enqueueOnCommit(manager, message) }), or use withTransaction(dataSource, async (manager) => { … }).'
    }
    if (isQueryRunner(handle)) {
      return 'enqueueOnCommit was given a TypeORM QueryRunner that is not inside a transaction: call `await queryRunner.startTransaction()` first, and commitTransaction() after enqueueing.'
    }
    return 'enqueueOnCommit was given a TypeORM EntityManager that is not inside a transaction (such as dataSource.manager), so the message would commit on its own: pass the manager of dataSource.transaction(async (manager) => { await enqueueOnCommit(manager, message) }), or use withTransaction(dataSource, async (manager) => { … }).'
  },
  async run(handle, text, values) {
    const target = runnerOf(handle) ?? (isDataSource(handle) ? (handle as DataSourceLike).manager : (handle as EntityManagerLike))
    // TypeORM's postgres driver resolves to the rows, or to [rows, count]
    // for UPDATE and DELETE.
    const result = await target.query(text, values as unknown[])
    if (!Array.isArray(result)) return { rows: [] }
    return { rows: Array.isArray(result[0]) && typeof result[1] === 'number' ? result[0] : result }
  },
  transaction: (client, fn) => (client as DataSourceLike).transaction(fn as (manager: EntityManagerLike) => Promise<unknown>) as Promise<any>,
  // TypeORM nests with a SAVEPOINT on the same query runner and hands out the same manager.
  savepoint: (tx, fn) => managerOf(tx).transaction(fn as (manager: EntityManagerLike) => Promise<unknown>) as Promise<any>,
}

function isQueryRunner(handle: object): handle is QueryRunnerLike {
  const r = handle as QueryRunnerLike
  return typeof r.isTransactionActive === 'boolean' && typeof r.query === 'function' && typeof (r as { startTransaction?: unknown }).startTransaction === 'function'
}

function isEntityManager(handle: object): handle is EntityManagerLike {
  const m = handle as EntityManagerLike & { connection?: unknown; getRepository?: unknown }
  return typeof m.query === 'function' && typeof m.transaction === 'function' && typeof m.getRepository === 'function' && typeof m.connection === 'object'
}

function isDataSource(handle: object): handle is DataSourceLike {
  const d = handle as DataSourceLike & { isInitialized?: unknown }
  return typeof d.isInitialized === 'boolean' && typeof d.createQueryRunner === 'function' && typeof d.transaction === 'function'
}

function runnerOf(handle: object): QueryRunnerLike | undefined {
  if (isQueryRunner(handle)) return handle
  if (isEntityManager(handle)) return handle.queryRunner
  return undefined
}

function managerOf(handle: object): EntityManagerLike {
  return isQueryRunner(handle) ? handle.manager : (handle as EntityManagerLike)
}
