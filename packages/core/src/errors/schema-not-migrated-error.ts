import { TxboxError } from './txbox-error.js'

/** The outbox tables do not exist (or are older than this version expects). */
export class SchemaNotMigratedError extends TxboxError {
  constructor(table: string, options?: { cause?: unknown; schema?: string }) {
    const custom = options?.schema !== undefined && options.schema !== 'txbox'
    const cli = custom ? `npx txbox migrate --schema ${options?.schema}` : 'npx txbox migrate'
    const call = custom ? `migrate(db, { schema: '${options?.schema}' })` : 'migrate(db)'
    super(
      'SCHEMA_NOT_MIGRATED',
      `${table} does not exist. Create the txbox tables first: run \`${cli}\`, call ${call} at startup, or apply the SQL files shipped in @txbox/core/sql with your migration tool.`,
      { cause: options?.cause },
    )
  }
}
