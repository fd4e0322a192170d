import type { OutboxMessage } from '@txbox/core'
import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { type ConsumerCheckReport, checkConsumerHistory } from './check-consumer-history.js'
import { ConsumerFleet } from './consumer-fleet.js'
import { ConsumerHistory } from './consumer-history.js'
import type { ConsumerPlace } from './consumer-place.js'
import type { ConsumedMessageSpec, ConsumerScenario } from './consumer-scenario-model.js'
import { rabbitmqConsumerPlace } from './rabbitmq-consumer-place.js'
import { redisConsumerPlace } from './redis-consumer-place.js'

export interface ConsumerRunOutcome {
  readonly report: ConsumerCheckReport
  readonly durationMs: number
  /** The consumers' last log lines, for a failure's report. */
  readonly log: readonly string[]
}

/** How long a quiesce action waits for everything published to be handled or dead. */
const QUIESCE_MS = 15_000
/** How long the end of a run waits for it: a message failing by timeouts takes maxDeliveries × (timeout + claim). */
const END_WAIT_MS = 40_000

/**
 * One consumer-half run: an isolated schema (inbox, effects table) and broker
 * place, the scenario's consumers started, its actions run (publish, crash,
 * pause), then a wait until every message is handled or dead and the broker
 * holds nothing; every consumer is stopped, and the history checked.
 */
export async function runConsumerScenario(scenario: ConsumerScenario): Promise<ConsumerRunOutcome> {
  const started = Date.now()
  const { config } = scenario
  const history = new ConsumerHistory()
  const runTag = uniqueName('cc')
  const schema = runTag
  const pool = new pg.Pool({ connectionString: serviceUrls().databaseUrl, max: 8, application_name: `${runTag}_consumers` })
  pool.on('error', () => {})
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  let place: ConsumerPlace | undefined
  let fleet: ConsumerFleet | undefined
  const specs = new Map<number, ConsumedMessageSpec>()
  try {
    await sql`create schema ${sql.id(schema)}`.execute(db)
    await migrate(db, { schema })
    await sql`create table ${sql.id(schema)}.effects (n int not null, consumer text not null, at timestamptz not null default clock_timestamp())`.execute(db)
    place = config.broker === 'redis' ? await redisConsumerPlace(runTag, config) : await rabbitmqConsumerPlace(runTag, config)
    fleet = new ConsumerFleet({ config, place, history, db, schema, specs })
    await fleet.start()
    const keys = Array.from({ length: config.keys }, (_, i) => `${runTag}-k${i}`)
    for (const action of scenario.actions) {
      switch (action.t) {
        case 'publish': {
          const publishedAt = Date.now()
          const messages: OutboxMessage[] = action.messages.map((spec) => {
            const n = history.takeN()
            const messageId = `${runTag}-m${n}`
            specs.set(n, spec)
            const key = spec.key === null ? null : (keys[spec.key % keys.length] as string)
            history.published.push({ n, messageId, key: spec.key === null ? null : spec.key % keys.length, spec, publishedAt })
            return { id: String(n), messageId, topic: 'checker', key, payload: JSON.stringify({ n }), headers: {}, attempts: 0, createdAt: new Date() }
          })
          await place.publish(messages)
          break
        }
        case 'crash':
          await fleet.crash(action)
          break
        case 'pause':
          await new Promise((resolve) => setTimeout(resolve, action.ms))
          break
        case 'quiesce':
          await settled(place, history, config.processOnce, QUIESCE_MS)
          break
      }
    }
    if (!(await settled(place, history, config.processOnce, END_WAIT_MS))) history.note(`the end wait gave up after ${END_WAIT_MS} ms`)
    await fleet.stopAll()
    const endedAt = Date.now()
    const deadLetters = await place.deadLetters()
    const { rows } = await sql<{ n: number; count: string }>`select n, count(*) as count from ${sql.id(schema)}.effects group by n`.execute(db)
    const effects = new Map(rows.map((r) => [Number(r.n), Number(r.count)]))
    const report = checkConsumerHistory(history.facts(config, { deadLetters, effects, endedAt }))
    return { report, durationMs: Date.now() - started, log: history.log }
  } catch (error) {
    history.harnessErrors.push(`the run failed: ${(error as Error)?.stack ?? String(error)}`)
    const report = checkConsumerHistory(history.facts(config, { deadLetters: [], effects: new Map(), endedAt: Date.now() }))
    // Only the harness problem is meaningful here: the history was cut short.
    return { report: { ...report, violations: report.violations.filter((v) => v.kind === 'harness') }, durationMs: Date.now() - started, log: history.log }
  } finally {
    await fleet?.stopAll().catch(() => {})
    await place?.cleanup().catch(() => {})
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db).catch(() => {})
    await db.destroy().catch(() => {})
  }
}

/**
 * Waits (bounded) until every message published so far was handled or is a
 * dead letter, no handler is running and the broker holds nothing waiting.
 */
async function settled(place: ConsumerPlace, history: ConsumerHistory, once: boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const dead = new Set(await place.deadLetters())
    const handled = new Set(once ? history.processed.map((p) => p.n) : history.calls.filter((c) => c.outcome === 'ok').map((c) => c.n))
    const done =
      history.published.every((m) => handled.has(m.n) || dead.has(m.n)) && history.calls.every((c) => c.endedAt !== undefined) && (await place.idle())
    if (done) return true
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
