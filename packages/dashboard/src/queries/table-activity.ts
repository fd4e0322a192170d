import { type Kysely, sql } from 'kysely'
import type { OutboxTables } from './outbox-tables.js'
import { OWN_STATEMENT_MARK } from './relay-sessions.js'

/** PostgreSQL's running counts of rows written to the outbox's tables (since its statistics were last reset). */
export interface TableActivity {
  /** Rows deleted from the outbox: published, or moved to the dead letters. */
  readonly outboxDeleted: number
  /** Rows inserted into the dead letters (moved there by a relay). */
  readonly deadInserted: number
}

/**
 * Reads pg_stat_user_tables: what the relays did, from PostgreSQL's own
 * statistics, with no table or report of txbox's. A backend sends its counts
 * at most about once a second, so a point lags by that much.
 */
export async function readTableActivity(db: Kysely<any>, tables: OutboxTables): Promise<TableActivity> {
  const { rows } = await sql<{ relname: string; n_tup_del: string; n_tup_ins: string }>`${sql.raw(OWN_STATEMENT_MARK)}
    SELECT relname, n_tup_del, n_tup_ins FROM pg_stat_user_tables
    WHERE schemaname = ${tables.schema} AND relname IN (${tables.outboxName}, ${tables.deadName})`.execute(db)
  const outbox = rows.find((r) => r.relname === tables.outboxName)
  const dead = rows.find((r) => r.relname === tables.deadName)
  return { outboxDeleted: Number(outbox?.n_tup_del ?? 0), deadInserted: Number(dead?.n_tup_ins ?? 0) }
}
