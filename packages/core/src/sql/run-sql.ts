import { SchemaNotMigratedError } from '../errors/schema-not-migrated-error.js'
import type { Executor } from '../executors/executor.js'
import { runText, type SqlRunner } from '../sql-executor.js'
import type { Statement } from './statement.js'

/** PostgreSQL's "undefined_table". */
const UNDEFINED_TABLE = '42P01'

/**
 * Runs one statement on a Kysely instance or transaction, or a pg client
 * (without the user's Kysely plugins, see runText). Values are always
 * parameters, never spliced. A missing txbox table (the schema was not
 * migrated for this table set) becomes SchemaNotMigratedError, naming the
 * table set the statement was built for.
 */
export function runSql<Row>(runner: SqlRunner, statement: Statement<Row>): Promise<{ rows: Row[] }> {
  return mapMissingTable(statement, runText<Row>(runner, statement.text, statement.values))
}

/**
 * runSql for a handle of any supported ORM or driver (enqueueOnCommit's
 * transaction, withTransaction's client), run through its executor.
 */
export function runSqlThrough<Row>(executor: Executor, handle: object, statement: Statement<Row>): Promise<{ rows: Row[] }> {
  return mapMissingTable(statement, executor.run(handle, statement.text, statement.values) as Promise<{ rows: Row[] }>)
}

/** The one place a missing table (42P01) becomes SchemaNotMigratedError. */
async function mapMissingTable<Row>(statement: Statement<Row>, running: Promise<{ rows: Row[] }>): Promise<{ rows: Row[] }> {
  try {
    return await running
  } catch (error) {
    const tables = statement.tables
    if (tables && (error as { code?: string }).code === UNDEFINED_TABLE) {
      throw new SchemaNotMigratedError(tables.names.quoted[tables.first], { cause: error, tables: tables.names })
    }
    throw error
  }
}
