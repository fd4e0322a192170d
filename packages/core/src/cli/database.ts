import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { guardPoolClients } from '../pool-guard.js'
import { CliError } from './cli-error.js'
import { describeError } from './describe-error.js'
import { redactUrl } from './redact.js'

/** A connection pool the CLI opened, and how to close it. */
export interface CliDatabase {
  readonly db: Kysely<any>
  readonly pool: pg.Pool
  close(): Promise<void>
}

/** The database URL from `--database-url` or `DATABASE_URL`; missing is a usage error. */
export function databaseUrlFrom(flag: string | undefined): string {
  const url = flag ?? process.env.DATABASE_URL
  if (!url) {
    throw new CliError('no database given: set DATABASE_URL (postgres://user:password@host:5432/db) or pass --database-url.', 'usage')
  }
  // node-postgres reads a URL (or a socket directory); it takes a libpq
  // key=value string for a database name on a host called "base".
  if (/^\s*[A-Za-z_]\w*\s*=/.test(url)) {
    throw new CliError(
      `the database URL ${redactUrl(url)} is a key=value string, which node-postgres does not read: give a URL, postgres://user:password@host:5432/db.`,
      'usage',
    )
  }
  return url
}

/**
 * Opens a small pool and checks the database answers, so that an unreachable
 * database is one clear line (naming the URL without its password) rather
 * than a driver's stack trace at the first query.
 */
export async function connectDatabase(url: string, options: { max: number; onConnectionError?: (error: Error) => void }): Promise<CliDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    application_name: 'txbox-cli',
    connectionTimeoutMillis: 10_000,
    // Notice a connection the network silently dropped, instead of waiting on it forever.
    keepAlive: true,
  })
  // An idle connection dropped by the server must not crash the process; the
  // next query reconnects (and the relay reports and retries what fails).
  pool.on('error', () => {})
  // Nor may one in use (the relay's transaction, held while a batch is
  // published): see pool-guard.ts. The query in flight fails; the relay
  // reports and retries.
  guardPoolClients(pool, options.onConnectionError ?? (() => {}))
  try {
    await pool.query('SELECT 1')
  } catch (error) {
    await pool.end().catch(() => {})
    throw new CliError(`cannot connect to the database at ${redactUrl(url)}: ${describeError(error)}`, 'failure', { cause: error })
  }
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  let closed = false
  return {
    db,
    pool,
    async close() {
      if (closed) return
      closed = true
      // Kysely's destroy ends the pool.
      await db.destroy()
    },
  }
}

/** Runs `fn` with a database opened from the command's flags, and closes it afterwards. */
export async function withDatabase<T>(flag: string | undefined, fn: (database: CliDatabase) => Promise<T>, max = 2): Promise<T> {
  const database = await connectDatabase(databaseUrlFrom(flag), { max })
  try {
    return await fn(database)
  } finally {
    await database.close()
  }
}
