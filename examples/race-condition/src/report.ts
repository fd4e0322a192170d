import type { Approach, Broker, Scenario } from './settings.js'
import type { WorkerLog } from './worker.js'

export interface Row {
  readonly scenario: Scenario
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
  /** Deliveries of a message already processed, dropped by processOnce. */
  readonly duplicatesDropped: number
  /** Publishes BullMQ answered with the job already there (jobId = message id): no second job. */
  readonly repeatedAddsAbsorbed: number
}

export function tally(scenario: Scenario, committed: Set<number>, log: WorkerLog, repeatedAddsAbsorbed: number): Row {
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
  return { scenario, committed: committed.size, delivered, early, phantom, lost, ranTwice, duplicatesDropped: log.duplicatesDropped, repeatedAddsAbsorbed }
}

/** Every committed user got exactly one email, and nobody else got one. */
export function isCorrect(row: Row): boolean {
  return row.delivered === row.committed && row.early === 0 && row.phantom === 0 && row.lost === 0 && row.ranTwice === 0
}

const brokerLabels: Record<Broker, string> = {
  'redis-streams': 'Redis Streams',
  bullmq: 'BullMQ',
}

const approachLabels: Record<Broker, Record<Approach, string>> = {
  'redis-streams': {
    'push-before-commit': 'XADD before COMMIT',
    'after-commit-hook': 'XADD in an after-commit hook',
    txbox: 'txbox (outbox + relay)',
  },
  bullmq: {
    'push-before-commit': 'queue.add() before COMMIT',
    'after-commit-hook': 'queue.add() in an after-commit hook',
    txbox: 'txbox (outbox + @txbox/bullmq)',
  },
}

export function label(scenario: Scenario): string {
  return `${brokerLabels[scenario.broker]}: ${approachLabels[scenario.broker][scenario.approach]}`
}

export function formatTable(rows: readonly Row[]): string {
  const header = ['broker', 'approach', 'committed', 'delivered', 'early', 'phantom', 'lost', '']
  const body = rows.map((r) => [
    brokerLabels[r.scenario.broker],
    approachLabels[r.scenario.broker][r.scenario.approach],
    String(r.committed),
    String(r.delivered),
    String(r.early),
    String(r.phantom),
    String(r.lost),
    isCorrect(r) ? 'ok' : 'WRONG',
  ])
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((cells) => cells[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()
  return [line(header), ...body.map(line)].join('\n')
}
