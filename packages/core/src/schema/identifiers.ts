import { InvalidIdentifierError } from '../errors/invalid-identifier-error.js'

// Lower-case only: a name that needs quoting to keep its case is a name users
// get wrong in psql. 48 leaves room for most suffixes of the names txbox
// derives from it (see table-names.ts, which checks what PostgreSQL does to
// the longer ones).
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,47}$/

/**
 * PostgreSQL keeps this many bytes of an identifier or a NOTIFY channel
 * (NAMEDATALEN - 1): it cuts longer identifiers and refuses longer channels.
 * Validated names are ASCII, so here a character is a byte.
 */
export const MAX_NAME_BYTES = 63

/** Validates a schema or table name and returns it double-quoted for SQL. */
export function quoteIdentifier(what: string, name: unknown): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) throw new InvalidIdentifierError(what, name)
  return `"${name}"`
}

/** An identifier as PostgreSQL stores it: cut at {@link MAX_NAME_BYTES}. */
export function asStoredByPostgres(name: string): string {
  return name.slice(0, MAX_NAME_BYTES)
}
