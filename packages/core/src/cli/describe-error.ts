import { SchemaNotMigratedError } from '../errors/schema-not-migrated-error.js'
import { TxboxError } from '../errors/txbox-error.js'
import { CliError } from './cli-error.js'

/** The one line the CLI prints for an error: what went wrong, and what to do when we know. */
export function describeError(error: unknown): string {
  // The CLI's own advice: its commands take --schema, not the library's table options.
  if (error instanceof SchemaNotMigratedError) return missingTables(error.cause instanceof Error ? error.cause.message : error.message)
  if (error instanceof CliError || error instanceof TxboxError) return error.message
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0])
  if (error instanceof Error) {
    const code = (error as { code?: string }).code
    if (code === '42P01') return missingTables(error.message)
    return error.message || code || error.name
  }
  return String(error)
}

function missingTables(detail: string): string {
  return `the txbox tables are missing (${detail}): run \`txbox migrate\` with the same --schema first.`
}
