import { readVacuumState } from '../../sql/cli/doctor/read-vacuum-state.js'
import { runSql } from '../../sql/run-sql.js'
import { type DoctorContext, type Finding, finding } from './finding.js'

/** The table settings `migrate` gives the outbox: vacuum after a fixed number of changed rows, unthrottled. */
const QUEUE_SETTINGS: Readonly<Record<string, string>> = {
  autovacuum_vacuum_scale_factor: '0',
  autovacuum_vacuum_insert_scale_factor: '0',
  autovacuum_analyze_scale_factor: '0',
  autovacuum_vacuum_cost_delay: '0',
}

/** Dead rows past which a table without autovacuum needs a VACUUM soon. */
const DEAD_ROWS_LIMIT = 10_000

/** Autovacuum of the server and of the outbox table: deleted rows must be vacuumed for claims to stay fast. */
export async function checkAutovacuum({ db, names }: DoctorContext): Promise<Finding[]> {
  const { rows } = await runSql(db, readVacuumState(names))
  const row = rows[0]
  if (!row) return [finding('autovacuum', 'skipped', `no table ${names.quoted.outbox}`, 'run `txbox migrate`, then `txbox doctor` again')]
  const options = Object.fromEntries((row.reloptions ?? []).map((o) => o.split('=') as [string, string]))
  const deadRows = Number(row.n_dead_tup ?? 0)
  const details = {
    autovacuum: row.autovacuum,
    trackCounts: row.track_counts,
    tableOptions: options,
    liveRows: Number(row.n_live_tup ?? 0),
    deadRows,
    lastVacuumAt: row.last_vacuum_at,
  }
  const vacuumByHand = `schedule \`VACUUM (ANALYZE) ${names.quoted.outbox}\` every minute or so (pg_cron or a cron job)`
  const off = row.autovacuum !== 'on' || row.track_counts !== 'on' || options.autovacuum_enabled === 'false'
  if (off) {
    const where = row.autovacuum !== 'on' ? 'autovacuum is off on this server' : row.track_counts !== 'on' ? 'track_counts is off, so autovacuum never runs' : `autovacuum is disabled on ${names.quoted.outbox}`
    const status = deadRows > DEAD_ROWS_LIMIT ? 'problem' : 'warning'
    return [finding('autovacuum', status, `${where}; the outbox has ${deadRows} dead row(s)`, `turn it on, or ${vacuumByHand}`, details)]
  }
  const missing = Object.entries(QUEUE_SETTINGS).filter(([key, value]) => options[key] !== value)
  if (missing.length > 0) {
    const set = Object.entries(QUEUE_SETTINGS)
      .map(([k, v]) => `${k} = ${v}`)
      .join(', ')
    return [
      finding(
        'autovacuum',
        'warning',
        `${names.quoted.outbox} lacks the queue settings migrate gives it (${missing.map(([k]) => k).join(', ')}): autovacuum waits for a fraction of the table to die`,
        `ALTER TABLE ${names.quoted.outbox} SET (${set}, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_insert_threshold = 10000, autovacuum_analyze_threshold = 10000)`,
        details,
      ),
    ]
  }
  return [finding('autovacuum', 'ok', `autovacuum is on, with queue settings on ${names.quoted.outbox} (${deadRows} dead row(s))`, undefined, details)]
}
