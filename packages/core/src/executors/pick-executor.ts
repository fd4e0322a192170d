import { drizzleExecutor } from './drizzle-executor.js'
import type { Executor } from './executor.js'
import { knexExecutor } from './knex-executor.js'
import { kyselyExecutor } from './kysely-executor.js'
import { mikroOrmExecutor } from './mikro-orm-executor.js'
import { pgExecutor } from './pg-executor.js'
import { postgresJsExecutor } from './postgres-js-executor.js'
import { prismaExecutor } from './prisma-executor.js'
import { sequelizeExecutor } from './sequelize-executor.js'
import { typeormExecutor } from './typeorm-executor.js'

/**
 * The executors, most specific first: a node-postgres client is anything
 * with `query()`, which TypeORM's and Sequelize's objects have too, so it
 * comes last; knex and postgres.js handles are both functions, told apart by
 * knex's `client` and postgres.js's `unsafe`.
 */
const EXECUTORS: readonly Executor[] = [
  kyselyExecutor,
  prismaExecutor,
  drizzleExecutor,
  typeormExecutor,
  mikroOrmExecutor,
  sequelizeExecutor,
  knexExecutor,
  postgresJsExecutor,
  pgExecutor,
]

/** The names of the supported handles, for messages. */
export const SUPPORTED_HANDLES =
  'a transaction from withTransaction, or the transaction handle of Kysely, Prisma, Drizzle, TypeORM, MikroORM, Sequelize, knex or postgres.js, or a node-postgres client inside BEGIN'

/** The executor for `handle`, or undefined if no supported ORM or driver recognises it. */
export function pickExecutor(handle: unknown): Executor | undefined {
  if ((typeof handle !== 'object' && typeof handle !== 'function') || handle === null) return undefined
  return EXECUTORS.find((executor) => executor.recognises(handle))
}
