import { findLongTransactions } from '../../sql/cli/doctor/find-long-transactions.js'
import { findOldPreparedTransactions } from '../../sql/cli/doctor/find-old-prepared-transactions.js'
import { findSlotsHoldingXmin } from '../../sql/cli/doctor/find-slots-holding-xmin.js'
import { runSql } from '../../sql/run-sql.js'
import { type DoctorContext, type Finding, finding } from './finding.js'

/**
 * What holds the xmin horizon back: VACUUM cannot remove the rows the relay
 * deleted after the oldest snapshot still in use was taken, so the outbox
 * bloats and claims slow down while a transaction stays open, a prepared
 * transaction is forgotten, or a replication slot holds an xmin.
 */
export async function checkXminHorizon({ db, maxTransactionAgeMs }: DoctorContext): Promise<Finding[]> {
  // Only this database's sessions hold back the horizon of its tables.
  const sessions = await runSql(db, findLongTransactions({ maxAgeMs: maxTransactionAgeMs }))
  const prepared = await runSql(db, findOldPreparedTransactions({ maxAgeMs: maxTransactionAgeMs }))
  // A slot's xmin (a physical slot with hot_standby_feedback) holds back every table; catalog_xmin only the catalogs.
  const slots = await runSql(db, findSlotsHoldingXmin())
  const findings: Finding[] = []
  const limit = `${Math.round(maxTransactionAgeMs / 1000)} s`
  if (sessions.rows.length > 0) {
    const list = sessions.rows.map((s) => `pid ${s.pid} (${s.application_name || s.usename || 'unnamed'}, ${s.state}, open ${Math.round(s.open_ms / 1000)} s)`)
    findings.push(
      finding(
        'xmin-horizon',
        'problem',
        `${sessions.rows.length} transaction(s) open longer than ${limit} pin the xmin horizon, so VACUUM cannot remove the outbox's deleted rows: ${list.join(', ')}`,
        `end them (\`SELECT pg_terminate_backend(pid)\`), fix the code that leaves them open, and set idle_in_transaction_session_timeout (the relay sets its own for its transactions)`,
        sessions.rows.map((s) => ({ ...s, open_ms: Math.round(s.open_ms) })),
      ),
    )
  }
  if (prepared.rows.length > 0) {
    findings.push(
      finding(
        'xmin-horizon',
        'problem',
        `${prepared.rows.length} prepared transaction(s) older than ${limit} pin the xmin horizon: ${prepared.rows.map((p) => p.gid).join(', ')}`,
        'COMMIT PREPARED or ROLLBACK PREPARED them',
        prepared.rows,
      ),
    )
  }
  const idleSlots = slots.rows.filter((s) => !s.active)
  if (idleSlots.length > 0) {
    findings.push(
      finding(
        'xmin-horizon',
        'problem',
        `${idleSlots.length} inactive replication slot(s) hold an xmin: ${idleSlots.map((s) => `${s.slot_name} (xmin age ${s.xmin_age})`).join(', ')}`,
        "drop slots nothing uses (`SELECT pg_drop_replication_slot('name')`), or bring their standby back",
        idleSlots,
      ),
    )
  }
  if (findings.length === 0) {
    const note = slots.rows.length > 0 ? `; ${slots.rows.length} active replication slot(s) hold an xmin (a standby's feedback)` : ''
    findings.push(finding('xmin-horizon', 'ok', `no transaction open longer than ${limit}, no forgotten prepared transaction${note}`, undefined, { activeSlots: slots.rows }))
  }
  return findings
}
