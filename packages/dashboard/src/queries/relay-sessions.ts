import { type Kysely, sql } from 'kysely'
import type { OutboxTables } from './outbox-tables.js'

/** Starts the statements the dashboard writes itself, so that it does not see its own sessions as a relay's (the dead-letter listing is the core's listDeadLetters, a SELECT, which the relay test passes over anyway). */
export const OWN_STATEMENT_MARK = '/* txbox-dashboard */'

/** A client of the database that works the outbox as a relay does, as pg_stat_activity shows it. */
export interface RelaySessions {
  /** The client's `application_name` (`txbox-cli` for `txbox relay`). */
  readonly application: string
  /** Its address as the server sees it (null over a Unix socket). */
  readonly clientAddress: string | null
  readonly user: string
  /** Its sessions on the outbox now (the relay's pool). */
  readonly sessions: number
  /** Whether one of them LISTENs for the outbox's wake-up signal (a relay with `listen`). */
  readonly listening: boolean
  /** When its oldest session connected. */
  readonly since: string
  /** When one of its sessions last began a statement on the outbox (claim, settle, promotion): its last cycle, near enough. */
  readonly lastStatementAt: string | null
  /** Whether one of them runs a statement on the outbox now. */
  readonly active: boolean
}

/**
 * The relays, from what PostgreSQL shows of their sessions (pg_stat_activity),
 * so that nothing has to be added to the relay or the schema: a session that
 * LISTENs on the outbox's channel, or whose last statement on the outbox was
 * a WITH, DELETE or UPDATE (the relay's claim, settle and promotion; writers
 * INSERT, and a person's SELECT or ANALYZE is no relay), grouped by client
 * (user, application_name, address). A relay on another database user is seen
 * only with the pg_read_all_stats role (or as a superuser); a relay that polls
 * without LISTEN shows while its statements run or were its last ones.
 */
export async function readRelaySessions(db: Kysely<any>, tables: OutboxTables): Promise<RelaySessions[]> {
  const listen = `LISTEN "${tables.schema}_${tables.outboxName}`.slice(0, 48)
  const quotedOutbox = `"${tables.schema}"."${tables.outboxName}"`
  const { rows } = await sql<{
    application: string
    client_address: string | null
    user: string
    sessions: string
    listening: boolean
    since: Date
    last_statement_at: Date | null
    active: boolean
  }>`${sql.raw(OWN_STATEMENT_MARK)}
    SELECT application_name AS application, host(client_addr) AS client_address, usename AS user, count(*) AS sessions,
           bool_or(is_listen) AS listening, min(backend_start) AS since,
           max(query_start) FILTER (WHERE NOT is_listen) AS last_statement_at,
           bool_or(state = 'active' AND NOT is_listen) AS active
    FROM (
      SELECT *, starts_with(query, ${listen}) AS is_listen FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
    ) a
    WHERE is_listen
       OR (strpos(query, ${quotedOutbox}) > 0 AND NOT starts_with(query, ${OWN_STATEMENT_MARK}) AND query ~* '^\\s*(WITH|DELETE|UPDATE)\\M')
    GROUP BY application_name, client_addr, usename
    ORDER BY min(backend_start)`.execute(db)
  return rows.map((r) => ({
    application: r.application,
    clientAddress: r.client_address,
    user: r.user,
    sessions: Number(r.sessions),
    listening: r.listening,
    since: r.since.toISOString(),
    lastStatementAt: r.last_statement_at?.toISOString() ?? null,
    active: r.active,
  }))
}
