import { ledgerSql, recordVersionSql } from './migration-ledger.js'
import { migrations } from './migrations.js'
import { resolveTableNames } from './table-names.js'

/** The plain SQL files shipped in `@txbox/core/sql`, for the default names. */
export function sqlFiles(): { name: string; text: string }[] {
  const names = resolveTableNames()
  return migrations.map((m) => ({
    name: `${String(m.version).padStart(4, '0')}_${m.name}.sql`,
    text: `-- txbox migration ${m.version}: ${m.name}
-- Generated from packages/core/src/schema/migrations.ts for the default names
-- (schema "txbox"). Apply in order with your migration tool, or let
-- migrate(db) / \`txbox migrate\` do it (they also record the version).
BEGIN;
${m.sql(names)}${ledgerSql(names)}${recordVersionSql(names, m.version, m.name)}COMMIT;
`,
  }))
}
