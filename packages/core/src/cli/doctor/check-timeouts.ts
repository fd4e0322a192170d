import { readTimeoutSettings } from '../../sql/cli/doctor/read-timeout-settings.js'
import { runSql } from '../../sql/run-sql.js'
import { type DoctorContext, type Finding, finding } from './finding.js'

/**
 * Server timeouts against the relay's publishTimeout: the relay holds its
 * transaction open while the broker has the batch, up to publishTimeout. It
 * sets idle_in_transaction_session_timeout and statement_timeout for its own
 * transactions (SET LOCAL, to publishTimeout + 30 s), so a shorter server
 * value is only a warning; PostgreSQL 17's transaction_timeout it does not
 * set, so a shorter one ends its transactions: a problem.
 */
export async function checkTimeouts({ db, publishTimeoutMs }: DoctorContext): Promise<Finding[]> {
  const { rows } = await runSql(db, readTimeoutSettings())
  const findings: Finding[] = []
  for (const { name, setting, source } of rows) {
    const ms = Number(setting)
    if (ms === 0 || ms >= publishTimeoutMs) continue
    const details = { setting: name, valueMs: ms, source, publishTimeoutMs }
    if (name === 'transaction_timeout') {
      findings.push(
        finding(
          'timeouts',
          'problem',
          `transaction_timeout is ${ms} ms (from ${source}), shorter than publishTimeout (${publishTimeoutMs} ms): the server ends a relay transaction that waits for a slow broker, and the batch is published again`,
          `raise transaction_timeout for the relay's role (ALTER ROLE relay SET transaction_timeout = '${publishTimeoutMs + 30_000}ms') or lower the relay's publishTimeout`,
          details,
        ),
      )
      continue
    }
    findings.push(
      finding(
        'timeouts',
        'warning',
        `${name} is ${ms} ms (from ${source}), shorter than publishTimeout (${publishTimeoutMs} ms): the txbox relay raises it for its own transactions (SET LOCAL), but a relay of other code, or a pooler's own timeout, would end a transaction that waits for the broker`,
        `keep the txbox relay (it sets its own), or give the relay's role ${name} = ${publishTimeoutMs + 30_000} ms; check a pooler's timeouts too (PgBouncer: idle_transaction_timeout, query_timeout)`,
        details,
      ),
    )
  }
  if (findings.length === 0) {
    const values = rows.map((r) => `${r.name} = ${r.setting === '0' ? 'off' : `${r.setting} ms`}`).join(', ')
    findings.push(finding('timeouts', 'ok', `${values}: none shorter than publishTimeout (${publishTimeoutMs} ms)`, undefined, rows))
  }
  return findings
}
