import { migrate } from '@txbox/core'
import { serviceUrls, uniqueName } from '@txbox/testing'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import type { BrokerFixture } from './broker-fixture.js'
import { REUSED_IDS } from './generate-scenario.js'
import { rabbitmqBroker } from './rabbitmq-broker.js'
import { redisBroker } from './redis-broker.js'
import { createRunRole, type RunRole } from './run-role.js'
import type { RunConfig } from './scenario-model.js'

/** One run's own, isolated place on every service. */
export interface RunEnvironment {
  /** Names the run's schema, stream or exchange, sessions and role. */
  readonly runTag: string
  readonly schema: string
  /** The harness's (and the writers') connection, as the test superuser with default settings. */
  readonly admin: Kysely<any>
  readonly role: RunRole
  readonly broker: BrokerFixture
  /** Key names, in hashtext order (the order enqueue and dead retry lock keys in). */
  readonly keys: readonly string[]
  readonly reusedIds: readonly string[]
  /** Removes everything the run created; with `keep`, leaves the schema for inspection. */
  teardown(keep: boolean): Promise<void>
}

export async function setUpRun(config: RunConfig): Promise<RunEnvironment> {
  const runTag = uniqueName('ck')
  const schema = runTag
  const pool = new pg.Pool({ connectionString: serviceUrls().databaseUrl, max: 5, application_name: `${runTag}_harness` })
  pool.on('error', () => {})
  const admin = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
  const undo: (() => Promise<unknown>)[] = [() => admin.destroy()]
  let keepSchema = false
  const teardown = async () => {
    for (const step of undo.reverse()) await step().catch(() => {})
  }
  try {
    await sql`create schema ${sql.id(schema)}`.execute(admin)
    undo.push(async () => {
      if (!keepSchema) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin)
    })
    await migrate(admin, { schema })
    const role = await createRunRole(admin, serviceUrls().databaseUrl, schema, config.settings)
    undo.push(() => role.drop())
    const broker = config.broker === 'redis' ? await redisBroker(runTag) : await rabbitmqBroker(runTag)
    undo.push(() => broker.cleanup())
    const keys = await keyNamesInLockOrder(admin, runTag, config.keys)
    return {
      runTag,
      schema,
      admin,
      role,
      broker,
      keys,
      reusedIds: Array.from({ length: REUSED_IDS }, (_, i) => `ck-idem-${runTag}-${i}`),
      async teardown(keep) {
        keepSchema = keep
        await teardown()
      },
    }
  } catch (error) {
    await teardown()
    throw error
  }
}

/**
 * Key names whose index in the scenario is also their hashtext order, the
 * order enqueue and dead retry lock keys in: `<tag>-k0`, `<tag>-k1`, ... with
 * a suffix picked so that each hashes above the one before.
 */
async function keyNamesInLockOrder(db: Kysely<any>, runTag: string, count: number): Promise<string[]> {
  const candidates = Array.from({ length: count }, (_, i) => Array.from({ length: 64 }, (_, j) => `${runTag}-k${i}.${j}`)).flat()
  const { rows } = await sql<{ k: string; h: number }>`select k, hashtext(k) as h from unnest(${candidates}::text[]) as k`.execute(db)
  const hash = new Map(rows.map((r) => [r.k, Number(r.h)]))
  const names: string[] = []
  let floor = -(2 ** 31) - 1
  for (let i = 0; i < count; i++) {
    // The lowest hash above the previous key's leaves the most room for the next ones.
    const pick = candidates
      .filter((k) => k.startsWith(`${runTag}-k${i}.`) && (hash.get(k) as number) > floor)
      .sort((a, b) => (hash.get(a) as number) - (hash.get(b) as number))[0]
    if (!pick) throw new Error(`no key name for k${i} hashing above ${floor}: run again`)
    names.push(pick)
    floor = hash.get(pick) as number
  }
  return names
}
