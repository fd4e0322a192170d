import { createRelay, enqueueOnCommit, type Logger, migrate, type Relay, withTransaction } from '@txbox/core'
import { recordingPublisher, separatePool, useTestDatabase, waitFor } from '@txbox/testing'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'

// A relay in the writers' process, given no `listen`, is woken by the commit
// itself. Every relay here polls once a minute: within a test's time only the
// wake-up can explain a delivery.

const t = useTestDatabase('in_process_wake_up')
const other = () => `${t.schema}_other`
const relayDb = separatePool(t, 'in_process_wake_up_relay', 3)
const POLL_MS = 60_000
/** Far below POLL_MS, and loose enough for a loaded machine. */
const WOKEN_WITHIN_MS = 10_000

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  await migrate(t.db, { schema: other() })
})
beforeEach(async () => {
  await sql`delete from ${sql.id(t.schema, 'outbox')}`.execute(t.db)
  await sql`delete from ${sql.id(other(), 'outbox')}`.execute(t.db)
})
afterAll(async () => {
  await relayDb.close()
  await sql`drop schema if exists ${sql.id(other())} cascade`.execute(t.db)
})

/** A relay of `schema` with no `listen`, and the claims (cycles) it ran, in order. */
function relayOn(schema: string, logger?: Logger) {
  const publisher = recordingPublisher()
  const cycles: number[] = []
  const relay: Relay = createRelay({ db: relayDb.db, publisher, schema, pollInterval: POLL_MS, concurrency: 1, ...(logger ? { logger } : {}) })
  relay.on('cycle', ({ claimed }) => cycles.push(claimed))
  return { relay, publisher, cycles }
}

/** Starts the relay and waits for its first claim (which finds nothing), so that it sleeps. */
async function startIdle(r: ReturnType<typeof relayOn>): Promise<void> {
  await r.relay.start()
  await waitFor(() => r.cycles.length >= 1, { message: 'the first claim after start' })
  expect(r.cycles).toEqual([0])
}

function enqueueIn(schema: string, payload: unknown): Promise<string[]> {
  return withTransaction(t.db, (trx) => enqueueOnCommit(trx, { topic: 'wake', key: 'k', payload }, { schema }))
}

/** A commit through a transaction txbox does not open: nothing wakes any relay. */
async function enqueueUnsignalled(schema: string, payload: unknown): Promise<string[]> {
  return t.db.transaction().execute((trx) => enqueueOnCommit(trx, { topic: 'wake', key: 'k', payload }, { schema }))
}

describe('a relay in the writers process is woken by the commit, without listen', () => {
  test('a commit through withTransaction is published long before the poll interval', async () => {
    const r = relayOn(t.schema)
    await startIdle(r)
    try {
      const [id] = await enqueueIn(t.schema, 1)
      await waitFor(() => r.publisher.confirmed.length >= 1, { timeoutMs: WOKEN_WITHIN_MS, message: 'published after the wake-up' })
      expect(r.publisher.confirmed.map((m) => m.messageId)).toEqual([id])
    } finally {
      await r.relay.stop()
    }
  })

  test('a rolled-back transaction wakes nothing: the next claim is the one the next commit wakes', async () => {
    const r = relayOn(t.schema)
    await startIdle(r)
    try {
      await expect(
        withTransaction(t.db, async (trx) => {
          await enqueueOnCommit(trx, { topic: 'wake', key: 'k', payload: 'rolled back' }, { schema: t.schema })
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      const [id] = await enqueueIn(t.schema, 'committed')
      await waitFor(() => r.publisher.confirmed.length >= 1 && r.cycles.length >= 2, { timeoutMs: WOKEN_WITHIN_MS })
      // A wake-up by the rollback would have run an empty claim before this one.
      expect(r.cycles.slice(0, 2)).toEqual([0, 1])
      expect(r.publisher.confirmed.map((m) => m.messageId)).toEqual([id])
    } finally {
      await r.relay.stop()
    }
  })

  test('two relays on different schemas: a commit wakes only the relay of its outbox', async () => {
    const mine = relayOn(t.schema)
    const theirs = relayOn(other())
    await startIdle(mine)
    await startIdle(theirs)
    try {
      // Waiting in the other outbox, unsignalled: a wrong wake-up would publish it.
      const [waiting] = await enqueueUnsignalled(other(), 'waits for its own wake-up')
      const [id] = await enqueueIn(t.schema, 'mine')
      await waitFor(() => mine.publisher.confirmed.length >= 1 && mine.cycles.length >= 3, { timeoutMs: WOKEN_WITHIN_MS })
      expect(mine.publisher.confirmed.map((m) => m.messageId)).toEqual([id])
      expect(theirs.cycles).toEqual([0])
      expect(theirs.publisher.confirmed).toEqual([])

      // Its own outbox's commit does wake it, and it takes both.
      const [own] = await enqueueIn(other(), 'theirs')
      await waitFor(() => theirs.publisher.confirmed.length >= 2, { timeoutMs: WOKEN_WITHIN_MS })
      expect(theirs.publisher.confirmed.map((m) => m.messageId).sort()).toEqual([waiting, own].sort())
    } finally {
      await mine.relay.stop()
      await theirs.relay.stop()
    }
  })

  test('a stopped relay is no longer woken, and a restarted one is again', async () => {
    const r = relayOn(t.schema)
    await startIdle(r)
    await r.relay.stop()
    await enqueueIn(t.schema, 'while stopped')
    const cyclesWhileStopped = r.cycles.length
    expect(cyclesWhileStopped).toBe(1)
    await r.relay.start()
    try {
      await waitFor(() => r.publisher.confirmed.length >= 1, { timeoutMs: WOKEN_WITHIN_MS })
      await enqueueIn(t.schema, 'after restart')
      await waitFor(() => r.publisher.confirmed.length >= 2, { timeoutMs: WOKEN_WITHIN_MS, message: 'woken after restart' })
    } finally {
      await r.relay.stop()
    }
  })
})

describe('a relay started without listen says once that it polls', () => {
  test('one info line naming the poll interval, not repeated by later cycles', async () => {
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = []
    const at =
      (level: string) =>
      (fields: Record<string, unknown>, message: string): void => {
        lines.push({ level, message, fields })
      }
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
    const r = relayOn(t.schema, logger)
    await startIdle(r)
    try {
      await enqueueIn(t.schema, 1)
      await enqueueIn(t.schema, 2)
      await waitFor(() => r.publisher.confirmed.length >= 2, { timeoutMs: WOKEN_WITHIN_MS })
    } finally {
      await r.relay.stop()
    }
    const aboutPolling = lines.filter((l) => l.message.includes('polling every'))
    expect(aboutPolling).toHaveLength(1)
    expect(aboutPolling[0]?.level).toBe('info')
    expect(aboutPolling[0]?.message).toContain(`polling every ${POLL_MS} ms`)
    expect(aboutPolling[0]?.fields.pollInterval).toBe(POLL_MS)
  })
})
