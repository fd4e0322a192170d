import type { Executor } from './executor.js'

/** The part of a postgres.js `sql` (root or transaction) txbox uses. */
interface PostgresJsSql {
  unsafe(query: string, values?: unknown[]): Promise<unknown[]>
  typed(value: unknown, type: number): unknown
  begin?(fn: (sql: PostgresJsSql) => Promise<unknown>): Promise<unknown>
  /** Only on the `sql` of a transaction (`sql.begin`). */
  savepoint?(fn: (sql: PostgresJsSql) => Promise<unknown>): Promise<unknown>
  /** Only on a reserved connection (`sql.reserve()`). */
  release?(): void
}

const TEXT_OID = 25

/**
 * The parameter as text, where postgres.js's own serialising would go wrong.
 * postgres.js serialises a parameter by the type the server infers for it:
 * it JSON.stringify()s a string sent for `$4::json`, so the JSON text txbox
 * sends would arrive as one JSON string; and Drizzle replaces the serialisers
 * of timestamptz and timestamptz[] with pass-throughs that expect text. Sent
 * as text (oid 25), strings, dates and arrays meet the statement's own casts,
 * as with node-postgres. Numbers, booleans and null are left as they are.
 */
function asText(sql: PostgresJsSql, value: unknown): unknown {
  if (typeof value === 'string') return sql.typed(value, TEXT_OID)
  if (value instanceof Date) return sql.typed(value.toISOString(), TEXT_OID)
  if (Array.isArray(value)) return sql.typed(arrayLiteral(value), TEXT_OID)
  return value
}

/** A PostgreSQL array literal of strings, numbers, dates and nulls: `{"a",NULL,"2026-01-01T00:00:00.000Z"}`. */
function arrayLiteral(items: readonly unknown[]): string {
  const parts = items.map((item) => {
    if (item === null || item === undefined) return 'NULL'
    const text = item instanceof Date ? item.toISOString() : String(item)
    return `"${text.replace(/[\\"]/g, '\\$&')}"`
  })
  return `{${parts.join(',')}}`
}

/** postgres.js: the `sql` that `sql.begin(async (sql) => …)` hands out. */
export const postgresJsExecutor: Executor = {
  name: 'postgres.js',
  recognises: (handle) => {
    const sql = handle as PostgresJsSql
    return typeof handle === 'function' && typeof sql.unsafe === 'function' && (typeof sql.begin === 'function' || typeof sql.savepoint === 'function')
  },
  notInTransaction(handle) {
    if (typeof (handle as PostgresJsSql).savepoint === 'function') return undefined
    return 'enqueueOnCommit was given a postgres.js `sql` that is not a transaction, so the message would commit on its own, whether or not your data does: pass the `sql` that sql.begin(async (sql) => { await enqueueOnCommit(sql, message) }) hands out, or use withTransaction(sql, async (sql) => { … }).'
  },
  async run(handle, text, values) {
    const sql = handle as PostgresJsSql
    const params = values.map((v) => asText(sql, v))
    // unsafe() resolves to an array of rows (a postgres.js Result).
    const rows = await sql.unsafe(text, params)
    return { rows: [...rows] }
  },
  transaction: (client, fn) => (client as Required<PostgresJsSql>).begin(fn as (sql: PostgresJsSql) => Promise<unknown>) as Promise<any>,
  savepoint: (tx, fn) => (tx as Required<PostgresJsSql>).savepoint(fn as (sql: PostgresJsSql) => Promise<unknown>) as Promise<any>,
}
