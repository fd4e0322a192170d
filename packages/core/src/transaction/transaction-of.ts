import type { Kysely, Transaction } from 'kysely'

/**
 * The transaction handle an ORM hands out for a client, as withTransaction
 * passes it to its callback: Kysely's Transaction for a Kysely instance, the
 * interactive-transaction client for a PrismaClient, `tx` for a Drizzle db,
 * the EntityManager for a TypeORM DataSource, `trx` for knex, the forked `em`
 * for MikroORM, the Transaction for Sequelize, the transaction `sql` for
 * postgres.js, and for a pg.Pool the checked-out client (typed `any`: the
 * pool's `connect()` overloads hide PoolClient from inference; annotate it as
 * `pg.PoolClient`). Read from each ORM's own method types, without importing
 * them (where a method is overloaded, TypeScript reads its last signature).
 */
export type TransactionOf<C> = C extends Kysely<infer DB>
  ? Transaction<DB>
  : C extends { $transaction(fn: (tx: infer TX) => Promise<any>, options?: any): Promise<any> }
    ? TX
    : C extends { transactional(fn: (em: infer EM) => Promise<any>, ...rest: any[]): Promise<any> }
      ? EM
      : C extends { unsafe: (...args: any[]) => any; begin(options: string, fn: (sql: infer S) => any): any }
        ? S
        : C extends { createQueryRunner(...args: any[]): any; manager: infer M }
          ? M
          : C extends { getQueryInterface(): any; transaction(options?: any): Promise<infer T> }
            ? T
            : C extends { transaction(fn: (tx: infer TX) => Promise<any>, ...rest: any[]): Promise<any> }
              ? TX
              : C extends { transaction(fn: (tx: infer TX) => any, ...rest: any[]): any }
                ? TX
                : C extends { totalCount: number; connect(...args: any[]): any }
                  ? any
                  : never
