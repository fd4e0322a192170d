import type { EntityManager as MikroEntityManager } from '@mikro-orm/postgresql'
import { withTransaction } from '@txbox/core'
import type { NodePgDatabase } from 'drizzle-orm/node-postgres'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import type { Knex } from 'knex'
import type { Kysely, Transaction as KyselyTransaction } from 'kysely'
import type pg from 'pg'
import type { Sql, TransactionSql } from 'postgres'
import type { Sequelize, Transaction as SequelizeTransaction } from 'sequelize'
import type { DataSource, EntityManager } from 'typeorm'
import { expect, expectTypeOf, test } from 'vitest'
import type { Prisma, PrismaClient } from './prisma/generated/client.js'

// Checked by `pnpm typecheck`: withTransaction's callback receives the
// transaction type each ORM's own transaction method hands out.
test('withTransaction hands the callback each ORM’s own transaction type', () => {
  const checks = [
    (db: Kysely<{ users: { id: number } }>) => withTransaction(db, async (trx) => expectTypeOf(trx).toEqualTypeOf<KyselyTransaction<{ users: { id: number } }>>()),
    (prisma: PrismaClient) => withTransaction(prisma, async (tx) => expectTypeOf(tx).toEqualTypeOf<Prisma.TransactionClient>()),
    (db: NodePgDatabase) => withTransaction(db, async (tx) => expectTypeOf(tx).toEqualTypeOf<Parameters<Parameters<NodePgDatabase['transaction']>[0]>[0]>()),
    (db: PostgresJsDatabase) => withTransaction(db, async (tx) => expectTypeOf(tx).toEqualTypeOf<Parameters<Parameters<PostgresJsDatabase['transaction']>[0]>[0]>()),
    (dataSource: DataSource) => withTransaction(dataSource, async (manager) => expectTypeOf(manager).toEqualTypeOf<EntityManager>()),
    (knex: Knex) => withTransaction(knex, async (trx) => expectTypeOf(trx).toEqualTypeOf<Knex.Transaction>()),
    (em: MikroEntityManager) => withTransaction(em, async (tx) => expectTypeOf(tx).toEqualTypeOf<MikroEntityManager>()),
    (sequelize: Sequelize) => withTransaction(sequelize, async (t) => expectTypeOf(t).toEqualTypeOf<SequelizeTransaction>()),
    (sql: Sql) => withTransaction(sql, async (tx) => expectTypeOf(tx).toEqualTypeOf<TransactionSql>()),
    (pool: pg.Pool) => withTransaction(pool, async (client: pg.PoolClient) => expectTypeOf(client).toEqualTypeOf<pg.PoolClient>()),
  ]
  expect(checks).toHaveLength(10)
})
