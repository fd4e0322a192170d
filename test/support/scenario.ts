import type { Redis } from 'ioredis'
import { type Kysely, sql } from 'kysely'
import { waitFor } from '@txbox/testing'
import { expect } from 'vitest'
import { checkInvariants, type Delivery, formatReport, type InvariantReport, type WriterHistory } from './invariants.js'
import { readStreamDeliveries } from './redis-deliveries.js'

/** Rows left in the outbox and in the dead letters. */
export async function outboxCounts(db: Kysely<any>, schema: string): Promise<{ outbox: number; dead: number }> {
  const { rows } = await sql<{ outbox: string; dead: string }>`
    select (select count(*) from ${sql.id(schema, 'outbox')}) as outbox,
           (select count(*) from ${sql.id(schema, 'outbox_dead')}) as dead`.execute(db)
  const row = rows[0] as { outbox: string; dead: string }
  return { outbox: Number(row.outbox), dead: Number(row.dead) }
}

export interface DrainResult {
  readonly report: InvariantReport
  /** How long it took, after the writers stopped, until nothing committed was missing. */
  readonly drainMs: number
  readonly dead: number
  readonly outboxLeft: number
}

/**
 * Waits (bounded) until the outbox is empty and every committed message is in
 * the stream, then checks the invariants. On timeout it still returns the
 * report, so the test's assertions name what is missing.
 */
export async function drainAndCheck(
  options: {
    readonly db: Kysely<any>
    readonly schema: string
    readonly history: WriterHistory
    readonly timeoutMs?: number
  } & (
    | { readonly redis: Redis; readonly stream: string }
    /** What the broker holds, for a broker other than Redis Streams. */
    | { readonly readDeliveries: () => Promise<Delivery[]> }
  ),
): Promise<DrainResult> {
  const readDeliveries = 'readDeliveries' in options ? options.readDeliveries : () => readStreamDeliveries(options.redis, options.stream)
  const started = Date.now()
  let report = checkInvariants(options.history, [])
  let counts = { outbox: -1, dead: -1 }
  await waitFor(
    async () => {
      counts = await outboxCounts(options.db, options.schema)
      if (counts.outbox > 0) return false
      report = checkInvariants(options.history, await readDeliveries())
      return report.lost.length === 0
    },
    { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 50 },
  ).catch(() => {})
  report = checkInvariants(options.history, await readDeliveries())
  counts = await outboxCounts(options.db, options.schema)
  return { report, drainMs: Date.now() - started, dead: counts.dead, outboxLeft: counts.outbox }
}

/** Resolves after `ms`: pacing for fault injection (when to strike), never a wait for a result. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Prints the scenario's one-line summary and asserts the invariants: nothing
 * lost, nothing phantom, per-key order held, nothing dead, outbox drained,
 * and duplicates within `maxDuplicates` when given.
 */
export function expectInvariants(
  scenario: string,
  result: DrainResult,
  figures: Record<string, string | number>,
  limits: { readonly maxDuplicates?: number; readonly minCommitted?: number } = {},
): void {
  console.log(formatReport(scenario, result.report, { ...figures, drainMs: result.drainMs, dead: result.dead }))
  const { report } = result
  expect(report.committed, 'committed messages (too few means the scenario tested little)').toBeGreaterThanOrEqual(limits.minCommitted ?? 50)
  expect(report.lost, 'lost: committed, never delivered').toEqual([])
  expect(report.phantom, 'phantom: delivered, never committed').toEqual([])
  expect(report.orderViolations, 'per-key order violations').toEqual([])
  expect(result.dead, 'dead letters').toBe(0)
  expect(result.outboxLeft, 'rows left in the outbox').toBe(0)
  if (limits.maxDuplicates !== undefined) expect(report.duplicates, 'duplicates').toBeLessThanOrEqual(limits.maxDuplicates)
}
