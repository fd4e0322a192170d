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
    // postgres.js serialises a parameter by the type the server infers for
    // it, and JSON.stringify()s a string sent for `$4::json`: the JSON text
    // txbox sends would arrive as one JSON string. Strings go as text (oid 25)
    // instead, and the statement's casts apply as with node-postgres.
    const params = values.map((v) => (typeof v === 'string' ? sql.typed(v, TEXT_OID) : v))
    // unsafe() resolves to an array of rows (a postgres.js Result).
    const rows = await sql.unsafe(text, params)
    return { rows: [...rows] }
  },
  transaction: (client, fn) => (client as Required<PostgresJsSql>).begin(fn as (sql: PostgresJsSql) => Promise<unknown>) as Promise<any>,
  savepoint: (tx, fn) => (tx as Required<PostgresJsSql>).savepoint(fn as (sql: PostgresJsSql) => Promise<unknown>) as Promise<any>,
}
