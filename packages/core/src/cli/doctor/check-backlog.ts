import { readOutboxStats } from '../../relay/relay-metrics.js'
import { type DoctorContext, type Finding, finding } from './finding.js'

/** Outbox lag (age of the oldest due message) and dead letters waiting. */
export async function checkBacklog({ db, names, maxLagMs }: DoctorContext): Promise<Finding[]> {
  const stats = await readOutboxStats(db, names)
  const findings: Finding[] = []
  if (stats.oldestAgeMs > maxLagMs) {
    findings.push(
      finding(
        'backlog',
        'problem',
        `the oldest due message has waited ${Math.round(stats.oldestAgeMs / 1000)} s (more than ${Math.round(maxLagMs / 1000)} s), with ${stats.backlog} message(s) in the outbox`,
        'check that relays run (`txbox status`, their logs) and that the broker takes the messages (LAST ERROR in `txbox status`); add relays if they cannot keep up',
        stats,
      ),
    )
  }
  if (stats.dead > 0) {
    findings.push(
      finding(
        'backlog',
        'problem',
        `${stats.dead} message(s) wait in the dead letters`,
        'read why with `txbox dead list`, fix the cause, then `txbox dead retry` (or `txbox dead purge`)',
        stats,
      ),
    )
  }
  if (findings.length === 0) {
    findings.push(finding('backlog', 'ok', `${stats.backlog} message(s) in the outbox, the oldest due one ${Math.round(stats.oldestAgeMs / 1000)} s old; no dead letters`, undefined, stats))
  }
  return findings
}
