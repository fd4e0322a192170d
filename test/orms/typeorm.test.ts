import { describeExecutorConformance } from '@txbox/testing'
import { DataSource, type EntityManager } from 'typeorm'

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
