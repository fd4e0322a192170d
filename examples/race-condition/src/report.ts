import type { Approach } from './settings.js'
import type { WorkerLog } from './worker.js'

export interface Row {
  readonly approach: Approach
  /** Users whose signup transaction committed. */
  readonly committed: number
  /** Committed users who got their email, once. */
  readonly delivered: number
  /** Jobs that ran before their user's COMMIT: "user not found". */
  readonly early: number
  /** Jobs for a user whose transaction rolled back. */
  readonly phantom: number
  /** Committed users whose job never ran. */
  readonly lost: number
  /** Committed users whose job ran more than once. */
  readonly ranTwice: number
  readonly duplicatesDropped: number
}

export function tally(approach: Approach, committed: Set<number>, log: WorkerLog): Row {
  const runs = new Map<number, number>()
  let early = 0
  let phantom = 0
  for (const job of log.jobs) {
    runs.set(job.userId, (runs.get(job.userId) ?? 0) + 1)
    if (!committed.has(job.userId)) phantom++
    else if (!job.userFound) early++
  }
  const delivered = log.jobs.filter((j) => committed.has(j.userId) && j.userFound && runs.get(j.userId) === 1).length
  const lost = [...committed].filter((id) => !runs.has(id)).length
  const ranTwice = [...runs.values()].filter((n) => n > 1).length
  return { approach, committed: committed.size, delivered, early, phantom, lost, ranTwice, duplicatesDropped: log.duplicatesDropped }
}

/** Every committed user got exactly one email, and nobody else got one. */
export function isCorrect(row: Row): boolean {
  return row.delivered === row.committed && row.early === 0 && row.phantom === 0 && row.lost === 0 && row.ranTwice === 0
}

const labels: Record<Approach, string> = {
  'push-before-commit': 'push before COMMIT',
  'after-commit-hook': 'push in an after-commit hook',
  txbox: 'txbox (outbox + relay)',
}

export function formatTable(rows: readonly Row[]): string {
  const header = ['approach', 'committed', 'delivered', 'early', 'phantom', 'lost', '']
  const body = rows.map((r) => [
    labels[r.approach],
    String(r.committed),
    String(r.delivered),
    String(r.early),
    String(r.phantom),
    String(r.lost),
    isCorrect(r) ? 'ok' : 'WRONG',
  ])
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((cells) => cells[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()
  return [line(header), ...body.map(line)].join('\n')
}
