import { InvalidIdentifierError } from '../errors/invalid-identifier-error.js'

// Lower-case only: a name that needs quoting to keep its case is a name users
// get wrong in psql. 48 leaves room for the suffixes of index names within
// PostgreSQL's 63-byte limit.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,47}$/

/** Validates a schema or table name and returns it double-quoted for SQL. */
export function quoteIdentifier(what: string, name: unknown): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) throw new InvalidIdentifierError(what, name)
  return `"${name}"`
}
