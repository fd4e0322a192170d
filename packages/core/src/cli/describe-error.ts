import { TxboxError } from '../errors/txbox-error.js'
import { CliError } from './cli-error.js'

/** The one line the CLI prints for an error: what went wrong, and what to do when we know. */
export function describeError(error: unknown): string {
  if (error instanceof CliError || error instanceof TxboxError) return error.message
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0])
  if (error instanceof Error) {
    const code = (error as { code?: string }).code
    if (code === '42P01') return `the txbox tables are missing (${error.message}): run \`txbox migrate\` with the same --schema first.`
    return error.message || code || error.name
  }
  return String(error)
}
