import { describeExecutorConformance } from '@txbox/testing'
import { Sequelize, type Transaction } from 'sequelize'

describeExecutorConformance('sequelize', async ({ url, schema }) => {
  const sequelize = new Sequelize(url, {
    dialect: 'postgres',
    logging: false,
    pool: { max: 3, min: 0 },
    dialectOptions: { options: `-c search_path=${schema},public` },
  })
  return {
    client: sequelize,
    transaction: (fn) => sequelize.transaction(fn),
    insertUser: async (t: Transaction, email) => {
      await sequelize.query('insert into users (email) values ($1)', { bind: [email], transaction: t })
    },
    outside: [{ what: 'the Sequelize instance', handle: sequelize, advice: /sequelize\.transaction\(async \(t\)/ }],
    close: () => sequelize.close(),
  }
})
