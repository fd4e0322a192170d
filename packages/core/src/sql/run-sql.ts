import { CompiledQuery, type Kysely } from 'kysely'
import { SchemaNotMigratedError } from '../errors/schema-not-migrated-error.js'
import { isKysely, type SqlRunner } from '../sql-executor.js'
import type { Statement } from './statement.js'

/** PostgreSQL's "undefined_table". */
const UNDEFINED_TABLE = '42P01'

/**
 * Runs one statement on a Kysely instance or transaction, or a pg client.
 * Values are always parameters, never spliced. A missing txbox table (the
 * schema was not migrated for this table set) becomes SchemaNotMigratedError,
 * naming the table set the statement was built for.
 */
export async function runSql<Row>(runner: SqlRunner, statement: Statement<Row>): Promise<{ rows: Row[] }> {
  try {
    if (isKysely(runner)) {
      const result = await withoutPlugins(runner).executeQuery<Row>(CompiledQuery.raw(statement.text, statement.values as unknown[]))
      return { rows: result.rows as Row[] }
    }
    const result = await runner.query(statement.text, statement.values as unknown[])
    return { rows: result.rows as Row[] }
  } catch (error) {
    const tables = statement.tables
    if (tables && (error as { code?: string }).code === UNDEFINED_TABLE) {
      throw new SchemaNotMigratedError(tables.names.quoted[tables.first], { cause: error, tables: tables.names })
    }
    throw error
  }
}

const pluginFree = new WeakMap<Kysely<any>, Kysely<any>>()

/**
 * The instance without the user's plugins: a CamelCasePlugin would rename the
 * columns txbox reads (message_id → messageId) and corrupt every message.
 */
function withoutPlugins(db: Kysely<any>): Kysely<any> {
  let bare = pluginFree.get(db)
  if (bare === undefined) {
    bare = db.withoutPlugins()
    pluginFree.set(db, bare)
  }
  return bare
}
