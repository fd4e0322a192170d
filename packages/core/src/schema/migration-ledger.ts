import { readLedger as readLedgerStatement } from '../sql/schema/read-ledger.js'
import { runSql } from '../sql/run-sql.js'
import type { SqlRunner } from '../sql-executor.js'
import { LEDGER_INDEX, type TableNames } from './table-names.js'

/**
 * The ledger: one row per migration applied to one table set (outbox, dead
 * letter and inbox tables) of the schema, so that each table set of a schema
 * is migrated on its own. Earlier releases kept one version per schema
 * (rows without table names, the "legacy" rows below); this SQL creates the
 * ledger or upgrades that one in place, and is idempotent. Shared by migrate
 * and by the plain SQL files.
 */
export function ledgerSql(names: TableNames): string {
  const ledger = names.quoted.migrations
  return `CREATE TABLE IF NOT EXISTS ${ledger} (
  version integer NOT NULL,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  -- The table set the migration was applied to; NULL in rows written by
  -- releases that kept one version per schema.
  outbox_table text,
  dead_table text,
  inbox_table text
);
-- A ledger of those releases: add the table set, and key rows by it instead of by version alone.
ALTER TABLE ${ledger}
  ADD COLUMN IF NOT EXISTS outbox_table text,
  ADD COLUMN IF NOT EXISTS dead_table text,
  ADD COLUMN IF NOT EXISTS inbox_table text,
  DROP CONSTRAINT IF EXISTS txbox_migrations_pkey;
CREATE UNIQUE INDEX IF NOT EXISTS ${LEDGER_INDEX} ON ${ledger} (outbox_table, dead_table, inbox_table, version);
`
}

/** The SQL that records `version` for the table set of `names`, with literal values (for the plain SQL files). */
export function recordVersionSql(names: TableNames, version: number, name: string): string {
  return `INSERT INTO ${names.quoted.migrations} (version, name, outbox_table, dead_table, inbox_table)
VALUES (${version}, '${name}', '${names.outboxTable}', '${names.deadTable}', '${names.inboxTable}') ON CONFLICT DO NOTHING;
`
}

/** What the ledger and the catalog say about one table set. */
export interface LedgerState {
  /** The set's own latest version; null when the ledger names no migration of this set. */
  readonly version: number | null
  /** The latest version of the rows without table names, written by releases that kept one version per schema. */
  readonly legacyVersion: number | null
  readonly outboxExists: boolean
  readonly deadExists: boolean
  readonly inboxExists: boolean
}

export async function readLedger(trx: SqlRunner, names: TableNames): Promise<LedgerState> {
  const { rows } = await runSql(trx, readLedgerStatement(names))
  const row = rows[0]
  return {
    version: row?.version ?? null,
    legacyVersion: row?.legacy ?? null,
    outboxExists: row?.outbox === true,
    deadExists: row?.dead === true,
    inboxExists: row?.inbox === true,
  }
}
