import { CompiledQuery, type Kysely } from 'kysely'

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

export function isPgClient(value: unknown): value is PgClientLike {
  return typeof value === 'object' && value !== null && typeof (value as PgClientLike).query === 'function' && !isKysely(value)
}

/**
 * Runs one SQL text with positional parameters on a Kysely handle or a pg
 * client. Values are always parameters, never spliced. The executors use it;
 * everything else runs a statement of sql/ through runSql (sql/run-sql.ts).
 */
export async function runText<R = any>(runner: SqlRunner, text: string, values: readonly unknown[] = []): Promise<{ rows: R[] }> {
  if (isKysely(runner)) {
    // Without the user's plugins: a CamelCasePlugin would rename the columns
    // txbox reads (message_id → messageId) and corrupt every message.
    const result = await withoutPlugins(runner).executeQuery<R>(CompiledQuery.raw(text, values as unknown[]))
    return { rows: result.rows as R[] }
  }
  const result = await runner.query(text, values as unknown[])
  return { rows: result.rows as R[] }
}

const pluginFree = new WeakMap<Kysely<any>, Kysely<any>>()

function withoutPlugins(db: Kysely<any>): Kysely<any> {
  let bare = pluginFree.get(db)
  if (bare === undefined) {
    bare = db.withoutPlugins()
    pluginFree.set(db, bare)
  }
  return bare
}
