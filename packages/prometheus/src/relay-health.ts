import type { Relay, RelayEvents } from '@txbox/core'
import { type Kysely, sql } from 'kysely'

/** Options of {@link relayHealth}. */
export interface RelayHealthOptions {
  /** The relay's database (its `db`): readiness checks it answers. */
  db: Kysely<any>
  /**
   * Longest time since the relay last committed a cycle before it is not
   * ready, in ms. An idle relay cycles every `pollInterval`; a busy cycle
   * lasts at most about `publishTimeout`. Default 60000.
   */
  maxCycleAgeMs?: number
  /** Longest wait for the database to answer, in ms. Default 2000. */
  timeoutMs?: number
}

/** One check of a {@link HealthReport}. */
export interface HealthCheck {
  readonly ok: boolean
  /** What was found, in words; says what is wrong when `ok` is false. */
  readonly detail: string
}

/** What `/healthz` and `/readyz` answer, as JSON (status 200 when `ok`, else 503). */
export interface HealthReport {
  readonly ok: boolean
  readonly checks: Readonly<Record<string, HealthCheck>>
}

/** Liveness and readiness of a relay, made by {@link relayHealth}. */
export interface RelayHealth {
  /** Liveness: the relay's loops run (a Kubernetes liveness probe restarts the process otherwise). */
  live(): HealthReport
  /** Readiness: the database answers, the broker took the last batch that reached it, and a cycle committed lately. */
  ready(): Promise<HealthReport>
  /** Removes the relay listeners. Idempotent. */
  close(): void
}

/**
 * Health checks for a relay, for Kubernetes probes (served at `/healthz` and
 * `/readyz` by {@link monitoringHandler}).
 *
 * The broker check is what the relay last saw: a batch the broker could not
 * take (the relay's `unreachable` event) makes it fail until a batch is
 * published again. An idle relay does not call the broker, so it keeps the
 * last verdict.
 */
export function relayHealth(relay: Relay, options: RelayHealthOptions): RelayHealth {
  const maxCycleAgeMs = options.maxCycleAgeMs ?? 60_000
  const timeoutMs = options.timeoutMs ?? 2_000
  let lastCycleAt: number | undefined
  let brokerError: Error | undefined

  const onCycle: RelayEvents['cycle'] = ({ published }) => {
    lastCycleAt = Date.now()
    if (published > 0) brokerError = undefined
  }
  const onUnreachable: RelayEvents['unreachable'] = ({ error }) => {
    brokerError = error
  }
  relay.on('cycle', onCycle)
  relay.on('unreachable', onUnreachable)

  const live = (): HealthReport => {
    const running: HealthCheck = relay.running ? { ok: true, detail: 'the relay loops run' } : { ok: false, detail: 'the relay is not running' }
    return { ok: running.ok, checks: { relay: running } }
  }

  const cycleCheck = (): HealthCheck => {
    if (lastCycleAt === undefined) return { ok: false, detail: 'no cycle committed yet' }
    const ageMs = Date.now() - lastCycleAt
    if (ageMs > maxCycleAgeMs) return { ok: false, detail: `the last cycle committed ${ageMs} ms ago (more than ${maxCycleAgeMs} ms): the relay cannot claim or settle` }
    return { ok: true, detail: `the last cycle committed ${ageMs} ms ago` }
  }

  return {
    live,
    async ready() {
      const database = await checkDatabase(options.db, timeoutMs)
      const broker: HealthCheck = brokerError
        ? { ok: false, detail: `the broker could not take the last batch: ${brokerError.message}` }
        : { ok: true, detail: 'the broker took the last batch that reached it' }
      const checks = { relay: live().checks.relay as HealthCheck, database, broker, cycle: cycleCheck() }
      return { ok: Object.values(checks).every((c) => c.ok), checks }
    },
    close() {
      relay.off('cycle', onCycle)
      relay.off('unreachable', onUnreachable)
    },
  }
}

async function checkDatabase(db: Kysely<any>, timeoutMs: number): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<HealthCheck>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `the database did not answer within ${timeoutMs} ms` }), timeoutMs)
  })
  const answered = sql`SELECT 1`.execute(db).then(
    (): HealthCheck => ({ ok: true, detail: 'the database answers' }),
    (error: Error): HealthCheck => ({ ok: false, detail: `the database fails: ${error.message}` }),
  )
  try {
    return await Promise.race([answered, timedOut])
  } finally {
    clearTimeout(timer)
  }
}
