import { createRelay, enqueueOnCommit, migrate, onCommit, type OutboxMessage, type Publisher, type PublishResult, withTransaction } from '@txbox/core'
import { uniqueName, useTestDatabase } from '@txbox/testing'
import fc from 'fast-check'
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkInvariants, type Delivery, formatReport } from '../support/invariants.js'
import { outboxCounts } from '../support/scenario.js'
import { WriterLedger } from '../support/writers.js'

// Scenario 7 of docs/fault-tests.md: fast-check generates interleavings of
// enqueue / commit / rollback / savepoint rollback / relay step / relay crash
// over three concurrent writers, runs them against PostgreSQL with an
// in-process relay, drains the outbox, and checks the invariants.
//
// Reproduce a failure with the seed and path fast-check prints:
// TXBOX_FC_SEED=<seed> TXBOX_FC_PATH=<path> npx vitest run test/faults/interleavings.test.ts
const t = useTestDatabase('f_interleave', { poolSize: 4 })
const relayApplicationName = uniqueName('relay_prop')
const relayPool = new pg.Pool({ connectionString: t.url, max: 2, application_name: relayApplicationName })
// Terminated backends (the 'terminate' crash) surface on idle and checked-out clients alike.
relayPool.on('error', () => {})
relayPool.on('connect', (client) => client.on('error', () => {}))
const relayDb = new Kysely<any>({ dialect: new PostgresDialect({ pool: relayPool }) })

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
})
afterAll(async () => {
  await relayDb.destroy()
})

const WRITERS = 3
const KEYS = ['a', 'b', null] as const

type Crash = 'throw' | 'terminate'
type Action =
  | { readonly kind: 'enqueue'; readonly writer: number; readonly key: number }
  | { readonly kind: 'savepointRollback'; readonly writer: number; readonly key: number }
  | { readonly kind: 'commit'; readonly writer: number }
  | { readonly kind: 'rollback'; readonly writer: number }
  | { readonly kind: 'relayStep' }
  | { readonly kind: 'relayCrash'; readonly crash: Crash; readonly delivered: number }

const writer = fc.integer({ min: 0, max: WRITERS - 1 })
const key = fc.integer({ min: 0, max: KEYS.length - 1 })
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), writer, key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('savepointRollback' as const), writer, key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), writer }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rollback' as const), writer }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'relayStep' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('relayCrash' as const), crash: fc.constantFrom<Crash>('throw', 'terminate'), delivered: fc.nat({ max: 5 }) }),
  },
)

class IntendedRollback extends Error {}

/** One writer's open transaction, driven step by step from outside its callback. */
interface OpenTransaction {
  readonly trx: Transaction<any>
  /** The transaction's one key (one key per transaction: two keys taken in opposite orders would deadlock). */
  readonly key: string | null
  readonly mine: string[]
  readonly savepointIds: string[]
  ticket: number
  failed: boolean
  finish(commit: boolean): void
  readonly done: Promise<void>
}

/**
 * A broker stand-in that records arrivals in order and, when told, crashes
 * the next publish: by throwing after the broker got a prefix of the call's
 * messages (the relay records a failed attempt), or by terminating the
 * relay's database session after the broker got them all and confirmed (the
 * relay's transaction then aborts at its next statement). It never reports a
 * message confirmed that it did not record.
 */
function crashingPublisher(deliveries: Delivery[]) {
  let crash: { kind: Crash; delivered: number } | undefined
  const publisher: Publisher = {
    async publish(messages: readonly OutboxMessage[]): Promise<readonly PublishResult[]> {
      const now = crash
      crash = undefined
      if (!now) {
        for (const m of messages) deliveries.push({ messageId: m.messageId })
        return messages.map(() => ({ ok: true }))
      }
      if (now.kind === 'throw') {
        for (const m of messages.slice(0, now.delivered)) deliveries.push({ messageId: m.messageId })
        throw new Error('publisher crashed mid-batch')
      }
      for (const m of messages) deliveries.push({ messageId: m.messageId })
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${relayApplicationName}`.execute(t.db)
      return messages.map(() => ({ ok: true }))
    },
  }
  return {
    publisher,
    /** Arms a crash for the next publish call of `run`, and disarms it after. */
    async withCrash<T>(kind: Crash, delivered: number, run: () => Promise<T>): Promise<T> {
      crash = { kind, delivered }
      try {
        return await run()
      } finally {
        crash = undefined
      }
    },
  }
}

async function runInterleaving(actions: readonly Action[]): Promise<void> {
  const ledger = new WriterLedger()
  const deliveries: Delivery[] = []
  const { publisher, withCrash } = crashingPublisher(deliveries)
  const relay = createRelay({ db: relayDb, publisher, schema: t.schema, batchSize: 4, lanesPerClaim: 64, maxAttempts: 1_000_000, backoff: () => 0 })
  const open: (OpenTransaction | undefined)[] = Array.from({ length: WRITERS })
  // Each writer's operations run in order on its own chain; the driver does
  // not wait for them, since one may wait on another writer's key lock.
  const chains: Promise<void>[] = Array.from({ length: WRITERS }, () => Promise.resolve())
  let seq = 0
  let crashes = 0
  let stepFailures = 0

  const begin = async (w: number, keyIndex: number): Promise<OpenTransaction> => {
    let handOver!: (trx: Transaction<any>) => void
    const started = new Promise<Transaction<any>>((resolve) => {
      handOver = resolve
    })
    let decide!: (commit: boolean) => void
    const decision = new Promise<boolean>((resolve) => {
      decide = resolve
    })
    const state = { key: KEYS[keyIndex] ?? null, mine: [] as string[], savepointIds: [] as string[], ticket: 0, failed: false }
    const done = withTransaction(t.db, async (trx) => {
      onCommit(trx, () => ledger.recordCommitted(state.mine.map((messageId) => ({ messageId, key: state.key })), state.ticket))
      handOver(trx)
      if (!(await decision) || state.failed) throw new IntendedRollback()
    }).then(
      () => {
        ledger.rolledBack.push(...state.savepointIds)
      },
      (error) => {
        ledger.rolledBack.push(...state.savepointIds)
        if (error instanceof IntendedRollback) ledger.rolledBack.push(...state.mine)
        else ledger.inDoubt.push(...state.mine)
      },
    )
    const trx = await started
    const tx: OpenTransaction = Object.assign(state, { trx, finish: decide, done })
    open[w] = tx
    return tx
  }

  const onChain = (w: number, op: () => Promise<void>) => {
    chains[w] = (chains[w] as Promise<void>).then(op)
  }
  const message = (k: string | null) => ({ topic: 'prop', key: k ?? undefined, payload: { n: ++seq } })

  const finishAll = async (commit: boolean) => {
    for (let w = 0; w < WRITERS; w++) {
      onChain(w, async () => {
        const tx = open[w]
        if (!tx) return
        open[w] = undefined
        tx.finish(commit)
        await tx.done
      })
    }
    await Promise.all(chains)
  }

  try {
    for (const a of actions) {
      switch (a.kind) {
        case 'enqueue':
        case 'savepointRollback':
          onChain(a.writer, async () => {
            const tx = open[a.writer] ?? (await begin(a.writer, a.key))
            if (tx.failed) return
            try {
              if (a.kind === 'enqueue') {
                tx.mine.push(...(await enqueueOnCommit(tx.trx, message(tx.key), { schema: t.schema })))
                if (tx.ticket === 0) tx.ticket = ledger.takeTicket()
              } else {
                await withTransaction(tx.trx, async (sp) => {
                  tx.savepointIds.push(...(await enqueueOnCommit(sp, message(tx.key), { schema: t.schema })))
                  throw new IntendedRollback()
                }).catch((error) => {
                  if (!(error instanceof IntendedRollback)) throw error
                })
              }
            } catch {
              tx.failed = true
            }
          })
          break
        case 'commit':
        case 'rollback':
          onChain(a.writer, async () => {
            const tx = open[a.writer]
            if (!tx) return
            open[a.writer] = undefined
            tx.finish(a.kind === 'commit')
            await tx.done
          })
          break
        case 'relayStep':
          // After a 'terminate' crash the pool may hand out the dead client
          // once more; that step fails like a crash, which the relay's own
          // loop would retry.
          await relay.runOnce().catch(() => {
            stepFailures += 1
          })
          break
        case 'relayCrash':
          await withCrash(a.crash, a.delivered, () => relay.runOnce()).catch(() => {})
          crashes += 1
          break
      }
    }
    await finishAll(true)
    // Drain: without crashes, each step publishes a batch until the outbox is empty.
    for (let step = 0; step < 500; step++) {
      if ((await outboxCounts(t.db, t.schema)).outbox === 0) break
      await relay.runOnce().catch(() => {
        stepFailures += 1
      })
    }
  } finally {
    await finishAll(false)
  }

  const report = checkInvariants(ledger, deliveries)
  const counts = await outboxCounts(t.db, t.schema)
  if (!report.ok || counts.outbox > 0 || counts.dead > 0) {
    const keyOf = new Map(ledger.committed.map((m) => [m.messageId, m.key]))
    throw new Error(
      `${formatReport('interleaving', report, { crashes, stepFailures, outboxLeft: counts.outbox, dead: counts.dead })}
order violations: ${JSON.stringify(report.orderViolations)}
committed (commit order per key): ${ledger.committed.map((m) => `${m.key}:${m.messageId.slice(-4)}`).join(' ')}
arrivals: ${deliveries.map((d) => `${keyOf.get(d.messageId) ?? '?'}:${d.messageId.slice(-4)}`).join(' ')}`,
    )
  }
  stats.runs += 1
  stats.committed += report.committed
  stats.rolledBack += report.rolledBack
  stats.duplicates += report.duplicates
  stats.crashes += crashes
}

const stats = { runs: 0, committed: 0, rolledBack: 0, duplicates: 0, crashes: 0 }

describe('interleavings of writers, relay steps and relay crashes (fast-check)', () => {
  it('never lose, never publish a rollback, never break per-key order', { timeout: 90_000 }, async () => {
    const seed = Number(process.env.TXBOX_FC_SEED ?? 20_261_124)
    const path = process.env.TXBOX_FC_PATH
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), (actions) => runInterleaving(actions)),
      { numRuns: Number(process.env.TXBOX_FC_RUNS ?? 100), seed, ...(path ? { path } : {}) },
    )
    console.log(
      `[fault] interleavings: seed=${seed} runs=${stats.runs} committed=${stats.committed} rolledBack=${stats.rolledBack} crashes=${stats.crashes} duplicates=${stats.duplicates} lost=0 phantom=0 orderViolations=0`,
    )
    expect(stats.runs).toBeGreaterThan(0)
    expect(stats.crashes).toBeGreaterThan(0)
  })
})
