import { TxboxError } from './txbox-error.js'

/** The outbox tables do not exist (or are older than this version expects). */
export class SchemaNotMigratedError extends TxboxError {
  constructor(table: string, options?: { cause?: unknown }) {
    super(
      'SCHEMA_NOT_MIGRATED',
      `${table} does not exist. Create the txbox tables first: run \`npx txbox migrate\`, call migrate(db) at startup, or apply the SQL files shipped in @txbox/core/sql with your migration tool.`,
      options,
    )
  }
}
