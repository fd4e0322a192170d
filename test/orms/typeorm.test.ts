import { describeExecutorConformance } from '@txbox/testing'
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm'

describeExecutorConformance('typeorm', async ({ url, schema }) => {
  const dataSource = new DataSource({ type: 'postgres', url, schema, extra: { max: 3, options: `-c search_path=${schema},public` } })
  await dataSource.initialize()
  const idleRunner = dataSource.createQueryRunner()
  return {
    client: dataSource,
    transaction: (fn) => dataSource.transaction(fn),
    insertUser: async (manager: EntityManager, email) => {
      await manager.query('insert into users (email) values ($1)', [email])
    },
    outside: [
      { what: 'dataSource.manager', handle: dataSource.manager, advice: /dataSource\.transaction\(async \(manager\)/ },
      { what: 'the DataSource', handle: dataSource, advice: /dataSource\.transaction\(async \(manager\)/ },
      { what: 'a QueryRunner before startTransaction()', handle: idleRunner, advice: /queryRunner\.startTransaction\(\)/ },
    ],
    close: async () => {
      await idleRunner.release()
      await dataSource.destroy()
    },
  }
})

describeExecutorConformance('typeorm_query_runner', async ({ url, schema }) => {
  const dataSource = new DataSource({ type: 'postgres', url, schema, extra: { max: 3, options: `-c search_path=${schema},public` } })
  await dataSource.initialize()
  return {
    client: dataSource,
    // A QueryRunner the caller drives itself: startTransaction … commitTransaction.
    async transaction(fn) {
      const queryRunner = dataSource.createQueryRunner()
      await queryRunner.startTransaction()
      try {
        const result = await fn(queryRunner)
        await queryRunner.commitTransaction()
        return result
      } catch (error) {
        await queryRunner.rollbackTransaction()
        throw error
      } finally {
        await queryRunner.release()
      }
    },
    insertUser: async (runnerOrManager: QueryRunner | EntityManager, email) => {
      await runnerOrManager.query('insert into users (email) values ($1)', [email])
    },
    outside: [{ what: 'dataSource.manager', handle: dataSource.manager, advice: /dataSource\.transaction\(async \(manager\)/ }],
    close: () => dataSource.destroy(),
  }
})
