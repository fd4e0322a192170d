import { type Logger, migrate } from '@txbox/core'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import type { ConformanceConsumer, ConformanceConsumerOptions, ConsumerCapabilities, ConsumerFixture, ProcessOnceSetup } from './consumer-fixture.js'
import { useTestDatabase } from './test-database.js'
import { waitFor } from './wait-for.js'

const fast = { maxDeliveries: 3, handlerTimeoutMs: 5000 }
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} }

/** A gate a handler waits on until the test opens it. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

/**
 * The contract every consumer helper meets, run by each adapter against its
 * real broker: `describeConsumerConformance('redis', async () => fixture, caps)`.
 * Each test uses message ids of its own, so they share one fixture.
 */
export function describeConsumerConformance(name: string, createFixture: () => Promise<ConsumerFixture>, capabilities: ConsumerCapabilities): void {
  describe(`${name} consumer conformance`, () => {
    let fixture: ConsumerFixture
    const t = useTestDatabase(`cc_${name.replace(/\W/g, '')}`)
    const ids = (label: string, n = 1) => Array.from({ length: n }, (_, i) => `${label}-${i}-${Math.random().toString(36).slice(2, 8)}`)
    const consumers: ConformanceConsumer[] = []
    const start = async (options: ConformanceConsumerOptions) => {
      const consumer = await fixture.start(options)
      consumers.push(consumer)
      return consumer
    }
    const stopAll = async () => {
      await Promise.all(consumers.splice(0).map((c) => c.stop()))
    }

    beforeAll(async () => {
      await migrate(t.db, { schema: t.schema })
      await sql`create table ${sql.id(t.schema, 'effects')} (message_id text not null)`.execute(t.db)
      fixture = await createFixture()
    }, 60_000)
    afterAll(async () => {
      await stopAll()
      await fixture?.close()
    }, 60_000)

    test('a message is acknowledged only after its handler resolved', async () => {
      const [id] = ids('ack') as [string]
      const held = gate()
      let started = false
      await start({
        ...fast,
        logger: quiet,
        handler: async () => {
          started = true
          await held.wait
        },
      })
      await fixture.publish([id])
      await waitFor(() => started, { timeoutMs: 10_000, message: 'the handler started' })
      // Waited for, not read once: a broker's counts may lag (RabbitMQ's by up to its statistics interval).
      await waitFor(async () => (await fixture.unacknowledged()) === 1, { timeoutMs: 10_000, message: 'the message is unacknowledged while its handler runs' })
      held.open()
      await waitFor(async () => (await fixture.unacknowledged()) === 0, { timeoutMs: 10_000, message: 'the message was acknowledged' })
      await stopAll()
    })

    test('processOnce wrap: the effects of a message delivered twice, and failing once, happen exactly once', async () => {
      const [id] = ids('once') as [string]
      const runs: string[] = []
      let failFirst = true
      await start({
        ...fast,
        logger: quiet,
        processOnce: {
          db: t.db,
          schema: t.schema,
          effect: async (trx, m) => {
            await sql`insert into ${sql.id(t.schema, 'effects')} (message_id) values (${m.messageId})`.execute(trx)
          },
        },
        handler: async (m) => {
          runs.push(m.messageId)
          // After the effect was written: the failure must roll it back.
          if (failFirst) {
            failFirst = false
            throw new Error('fails once, after its write')
          }
        },
      })
      await fixture.publish([id])
      await waitFor(async () => (await effects(id)) === 1 && (await fixture.unacknowledged()) === 0, { timeoutMs: 15_000, message: 'the message was handled' })
      // The duplicate (a republish after a relay crash) finds the inbox record.
      await fixture.publish([id])
      await waitFor(async () => (await fixture.unacknowledged()) === 0 && (await inboxHas(id)), { timeoutMs: 10_000, message: 'the duplicate was acknowledged' })
      await stopAll()
      expect(await effects(id)).toBe(1)
      expect(runs.length).toBeGreaterThanOrEqual(2)
    })

    test('a message that keeps failing is tried exactly maxDeliveries times, then dead-lettered', async () => {
      const [id] = ids('dead') as [string]
      let runs = 0
      await start({
        ...fast,
        logger: quiet,
        handler: async () => {
          runs++
          throw new Error('always fails')
        },
      })
      await fixture.publish([id])
      await waitFor(async () => (await fixture.deadLetters()).includes(id), { timeoutMs: 20_000, message: 'the message was dead-lettered' })
      await waitFor(async () => (await fixture.unacknowledged()) === 0, { timeoutMs: 10_000, message: 'the dead letter was acknowledged' })
      await stopAll()
      expect(runs).toBe(fast.maxDeliveries)
    })

    if (capabilities.redeliversAfterCrash) {
      test('a consumer that dies mid-handler has its message delivered to another, and handled there', async () => {
        const [id] = ids('crash') as [string]
        const firstStarted = gate()
        const neverSettles = gate()
        const dying = await start({
          ...fast,
          logger: quiet,
          handler: async () => {
            firstStarted.open()
            await neverSettles.wait
          },
        })
        await fixture.publish([id])
        await firstStarted.wait
        await dying.crash()
        const handledBy: string[] = []
        await start({ ...fast, logger: quiet, handler: async (m) => void handledBy.push(m.messageId) })
        await waitFor(() => handledBy.includes(id), { timeoutMs: 20_000, message: 'another consumer handled the message' })
        await waitFor(async () => (await fixture.unacknowledged()) === 0, { timeoutMs: 10_000, message: 'the message was acknowledged' })
        // The dead consumer's handler settles now: its ack must change nothing.
        neverSettles.open()
        await stopAll()
        expect(await fixture.deadLetters()).not.toContain(id)
      })

      test('a message processOnce committed whose ack was lost (the consumer died) is acknowledged when it comes back past maxDeliveries, not dead-lettered', { timeout: 60_000 }, async () => {
        const [id] = ids('lostack') as [string]
        const started = gate()
        const finish = gate()
        // The dying consumer's handler must not time out (and count as failed) while crash() takes its time.
        const once = { maxDeliveries: 1, handlerTimeoutMs: 60_000 }
        const processOnceSetup: ProcessOnceSetup = {
          db: t.db,
          schema: t.schema,
          effect: async (trx, m) => {
            await sql`insert into ${sql.id(t.schema, 'effects')} (message_id) values (${m.messageId})`.execute(trx)
          },
        }
        const dying = await start({
          ...once,
          logger: quiet,
          processOnce: processOnceSetup,
          handler: async () => {
            started.open()
            await finish.wait
          },
        })
        await fixture.publish([id])
        await started.wait
        await dying.crash()
        // Its only attempt succeeds and commits after the consumer died: the ack goes nowhere, the broker delivers it again.
        finish.open()
        await waitFor(async () => (await effects(id)) === 1, { timeoutMs: 10_000, message: 'the dead consumer committed its effect' })
        const runs: string[] = []
        await start({ ...once, logger: quiet, processOnce: processOnceSetup, handler: async (m) => void runs.push(m.messageId) })
        await waitFor(async () => (await fixture.unacknowledged()) === 0, { timeoutMs: 20_000, message: 'the redelivery was settled' })
        await stopAll()
        expect(await fixture.deadLetters()).not.toContain(id)
        expect(runs).toEqual([])
        expect(await effects(id)).toBe(1)
      })
    }

    if (capabilities.txboxConsumer) {
      test('a handler that outlives handlerTimeoutMs is aborted, counts as failed, and the message is retried', async () => {
        const [id] = ids('timeout') as [string]
        const signals: (AbortSignal | undefined)[] = []
        await start({
          maxDeliveries: 3,
          handlerTimeoutMs: 300,
          logger: quiet,
          handler: async (_m, { signal }) => {
            signals.push(signal)
            if (signals.length === 1) await new Promise(() => {})
          },
        })
        await fixture.publish([id])
        await waitFor(async () => signals.length >= 2 && (await fixture.unacknowledged()) === 0, { timeoutMs: 15_000, message: 'the message was retried and acknowledged' })
        await stopAll()
        expect(signals[0]?.aborted).toBe(true)
        expect(await fixture.deadLetters()).not.toContain(id)
      })

      test('a failing handler is reported on the console by default, with no logger given', async () => {
        const [id] = ids('loud') as [string]
        const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
        const error = vi.spyOn(console, 'error').mockImplementation(() => {})
        try {
          let runs = 0
          await start({
            ...fast,
            handler: async () => {
              runs++
              if (runs === 1) throw new Error('loud-failure-marker')
            },
          })
          await fixture.publish([id])
          const said = () => [...warn.mock.calls, ...error.mock.calls].map((call) => call.map(String).join(' ') + JSON.stringify(call[1] ?? {}, errorText)).join('\n')
          await waitFor(() => /loud-failure-marker/.test(said()), { timeoutMs: 10_000, message: 'the failure was written to the console' })
          await waitFor(async () => (await fixture.unacknowledged()) === 0, { timeoutMs: 10_000, message: 'the retry was acknowledged' })
          await stopAll()
        } finally {
          warn.mockRestore()
          error.mockRestore()
        }
      })

      test('stop() returns within handlerTimeoutMs and a little, even with a handler that never settles', async () => {
        const [id] = ids('stop') as [string]
        const started = gate()
        const consumer = await start({
          maxDeliveries: 3,
          handlerTimeoutMs: 1000,
          logger: quiet,
          handler: async () => {
            started.open()
            await new Promise(() => {})
          },
        })
        await fixture.publish([id])
        await started.wait
        const begun = Date.now()
        await consumer.stop()
        // handlerTimeoutMs, plus the broker's longest wait the consumer cannot cut short (a pull request: 2 s at most here).
        expect(Date.now() - begun).toBeLessThan(1000 + 4000)
        consumers.splice(consumers.indexOf(consumer), 1)
      })
    }

    async function effects(messageId: string): Promise<number> {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.id(t.schema, 'effects')} where message_id = ${messageId}`.execute(t.db)
      return rows[0]?.n ?? 0
    }

    async function inboxHas(messageId: string): Promise<boolean> {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.id(t.schema, 'inbox')} where message_id = ${messageId}`.execute(t.db)
      return (rows[0]?.n ?? 0) > 0
    }
  })
}

/** JSON.stringify replacer that keeps an Error's message (its own fields are not enumerable). */
function errorText(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value
}
