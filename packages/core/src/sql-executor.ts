import type { Kysely } from 'kysely'
import { InvalidOptionError } from './errors/invalid-option-error.js'

/**
 * The part of a node-postgres client txbox uses (a `pg.Client` or a
 * `PoolClient`). Typed structurally so the core does not depend on pg's types.
 */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount?: number | null }>
  /** node-postgres ≥ 8.21: 'I' idle, 'T' in a transaction, 'E' in a failed transaction. */
  getTransactionStatus?(): string | null
}

/** Something txbox can run SQL on: a Kysely instance or transaction, or a pg client. */
export type SqlRunner = Kysely<any> | PgClientLike

export function isKysely(value: unknown): value is Kysely<any> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Kysely<any>).executeQuery === 'function' &&
    typeof (value as Kysely<any>).isTransaction === 'boolean'
  )
}

/** Throws InvalidOptionError unless `db` is a Kysely instance. `where` names the call, e.g. `migrate(db)`. */
export function requireKysely(where: string, db: unknown): asserts db is Kysely<any> {
  if (!isKysely(db)) {
    throw new InvalidOptionError('db', `${where}: db must be a Kysely instance on your PostgreSQL database (new Kysely({ dialect: new PostgresDialect({ pool }) })), got ${db === null ? 'null' : typeof db}.`)
  }
}

export function isPgClient(value: unknown): value is PgClientLike {
  return typeof value === 'object' && value !== null && typeof (value as PgClientLike).query === 'function' && !isKysely(value)
}
