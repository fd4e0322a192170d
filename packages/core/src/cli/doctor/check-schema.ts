import { readLedger } from '../../schema/migration-ledger.js'
import { migrations } from '../../schema/migrations.js'
import { runSql } from '../../sql/run-sql.js'
import { ledgerExists } from '../../sql/schema/ledger-exists.js'
import { type DoctorContext, type Finding, finding } from './finding.js'

const LATEST = migrations.at(-1)?.version ?? 0

/** Schema version and pending migrations of the outbox's table set. */
export async function checkSchema({ db, names }: DoctorContext): Promise<Finding[]> {
  const { rows } = await runSql(db, ledgerExists(names))
  if (rows[0]?.ledger !== true) {
    return [finding('schema', 'problem', `the txbox tables are not in schema "${names.schema}" (no ${names.quoted.migrations})`, 'run `txbox migrate` (or apply the SQL of `txbox migrate --print-sql`)')]
  }
  const ledger = await readLedger(db, names)
  const version = ledger.version ?? (ledger.outboxExists ? ledger.legacyVersion : null) ?? 0
  const details = { version, latest: LATEST, outbox: ledger.outboxExists, dead: ledger.deadExists, inbox: ledger.inboxExists }
  if (!ledger.outboxExists || !ledger.deadExists || !ledger.inboxExists) {
    return [finding('schema', 'problem', `tables of the outbox ${names.quoted.outbox} are missing`, 'run `txbox migrate`', details)]
  }
  if (version < LATEST) {
    const pending = migrations.filter((m) => m.version > version).map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`)
    return [
      finding(
        'schema',
        'problem',
        `schema version ${version}; ${pending.length} migration(s) pending: ${pending.join(', ')}`,
        'run `txbox migrate` before starting relays of this version (or apply `txbox migrate --print-sql` with your migration tool)',
        { ...details, pending },
      ),
    ]
  }
  if (version > LATEST) {
    return [finding('schema', 'warning', `schema version ${version} is newer than this txbox knows (${LATEST})`, 'upgrade @txbox/core where this command and your relays run', details)]
  }
  return [finding('schema', 'ok', `schema version ${version}, up to date`, undefined, details)]
}
