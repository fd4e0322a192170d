/** Socket errors of a database that is down, restarting or cut off. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

/**
 * SQLSTATEs of a server that shuts down or does not take connections yet:
 * class 08 (connection exception), admin_shutdown, crash_shutdown,
 * cannot_connect_now.
 */
const SERVER_CODES = /^(08...|57P01|57P02|57P03)$/

/** node-postgres' own words for a connection that ended or never came. */
const DRIVER_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/

/**
 * Whether `error` (or an error it wraps) says the database cannot be
 * reached, rather than that a query was wrong: the page is then told the
 * database does not answer, and no more (the driver's message may name a
 * host or a user).
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.test(code))) return true
    if (DRIVER_MESSAGES.test(e.message)) return true
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnreachable)) return true
  }
  return false
}
