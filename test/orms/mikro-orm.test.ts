import { EntitySchema } from '@mikro-orm/core'
import { MikroORM } from '@mikro-orm/postgresql'
import { describeExecutorConformance } from '@txbox/testing'

interface User {
  id: number
  email: string
}
const UserSchema = new EntitySchema<User>({
  name: 'User',
  tableName: 'users',
  properties: { id: { type: 'number', primary: true }, email: { type: 'string' } },
})

describeExecutorConformance('mikro_orm', async ({ url, schema }) => {
  const orm = await MikroORM.init({
    clientUrl: url,
    schema,
    entities: [UserSchema],
    pool: { min: 0, max: 3 },
    debug: false,
    allowGlobalContext: true,
  })
  const em = orm.em.fork()
  return {
    client: em,
    transaction: (fn) => em.transactional(fn),
    insertUser: async (tx: typeof em, email) => {
      tx.create(UserSchema, { email } as User)
      await tx.flush()
    },
    outside: [{ what: 'an EntityManager outside a transaction', handle: em, advice: /em\.transactional\(async \(em\)/ }],
    close: () => orm.close(true),
  }
})
