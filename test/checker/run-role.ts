import { uniqueName } from '@txbox/testing'
import { type Kysely, sql } from 'kysely'
import type { ServerSettings } from './scenario-model.js'

/** The role a run's relays and operator commands connect as, with the run's server settings. */
export interface RunRole {
  readonly name: string
  /** The database URL, logged in as the role. */
  readonly url: string
  /** Ends the role's sessions and drops it (and its grants). */
  drop(): Promise<void>
}

/**
 * Creates a login role for one run and sets the run's server settings on it
 * (`ALTER ROLE … SET`): the database is shared with other test runs, so
 * neither ALTER SYSTEM nor ALTER DATABASE is an option. The role may use the
 * run's schema and nothing else.
 */
export async function createRunRole(admin: Kysely<any>, databaseUrl: string, schema: string, settings: ServerSettings): Promise<RunRole> {
  const name = uniqueName('ck_role')
  const role = sql.id(name)
  await sql`create role ${role} login`.execute(admin)
  await sql`grant usage on schema ${sql.id(schema)} to ${role}`.execute(admin)
  await sql`grant select, insert, update, delete on all tables in schema ${sql.id(schema)} to ${role}`.execute(admin)
  await sql`grant usage, select on all sequences in schema ${sql.id(schema)} to ${role}`.execute(admin)
  if (settings.serializable) await sql`alter role ${role} set default_transaction_isolation = 'serializable'`.execute(admin)
  if (settings.idleInTransactionMs !== null) {
    await sql`alter role ${role} set idle_in_transaction_session_timeout = ${sql.lit(`${milliseconds(settings.idleInTransactionMs)}ms`)}`.execute(admin)
  }
  if (settings.statementTimeoutMs !== null) {
    await sql`alter role ${role} set statement_timeout = ${sql.lit(`${milliseconds(settings.statementTimeoutMs)}ms`)}`.execute(admin)
  }
  const url = new URL(databaseUrl)
  url.username = name
  url.password = ''
  return {
    name,
    url: url.toString(),
    async drop() {
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where usename = ${name} and pid <> pg_backend_pid()`.execute(admin)
      await sql`drop owned by ${role}`.execute(admin)
      await sql`drop role if exists ${role}`.execute(admin)
    },
  }
}

function milliseconds(value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`createRunRole: a timeout must be a positive integer of ms, got ${value}`)
  return value
}
