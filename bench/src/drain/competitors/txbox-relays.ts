import { createRelay, migrate, type Publisher, type Relay } from '@txbox/core'
import { vacuum } from '../../support/db.js'
import { fillOutbox } from '../../support/outbox-fill.js'
import type { CompetitorFactory } from '../drain-competitor.js'
import { untilDone } from '../until-done.js'
import { PublishProfile } from './publish-profile.js'

export interface TxboxRelaysOptions {
  /** Relay instances on one pool, each with a publisher (and broker connection) of its own. Default 1. */
  readonly relays?: number
  readonly batchSize: number
  /** Passed to createRelay; the relay's default (true) when not given. */
  readonly blockKeyOnFailure?: boolean
  /** Passed to the destination's publisher (RabbitMQ, BullMQ, NATS): one round trip per batch instead of per-key waves. */
  readonly pipelineKeys?: boolean
  /** Shown in the table; default "txbox, N relay(s)". */
  readonly name?: string
  /** Called on each relay before it starts (e.g. to attach metrics); the function it returns after the relay stopped. */
  readonly attach?: (relay: Relay) => () => void | Promise<void>
  /** Said in the notes after the relay's settings (what `attach` does). */
  readonly notes?: string
  /** Load messages with a `traceparent` header each (see fillOutbox). */
  readonly traceContext?: boolean
}

/**
 * txbox's relay as a competitor: `createRelay({ db, publisher, schema,
 * batchSize })` with the destination's publisher, started with start() (its
 * own loop, as in production) and stopped once every message was published.
 * All variants share one outbox schema, so each round loads its own messages.
 */
export function txboxRelays(options: TxboxRelaysOptions): CompetitorFactory {
  const count = options.relays ?? 1
  const name = options.name ?? `txbox, ${count} relay${count === 1 ? '' : 's'}`
  return ({ pool, db, destination, schema }) => {
    const outboxSchema = schema('outbox')
    const table = `"${outboxSchema}".outbox`
    let publishers: Publisher[] = []
    const usage = new PublishProfile()
    const blocking = [
      options.pipelineKeys === undefined ? '' : `the publisher with pipelineKeys: ${options.pipelineKeys}, `,
      options.blockKeyOnFailure === undefined ? 'defaults otherwise (per-key order, blockKeyOnFailure on)' : `blockKeyOnFailure: ${options.blockKeyOnFailure}, defaults otherwise`,
    ].join('')
    const variant = options.pipelineKeys === undefined ? undefined : { pipelineKeys: options.pipelineKeys }
    return {
      name,
      notes: `${name}: createRelay({ batchSize: ${options.batchSize} }) with the ${destination.name} publisher, ${blocking}${count > 1 ? `; ${count} relay instances on one pool, each with its own broker connection` : ''}.${options.notes ? ` ${options.notes}` : ''}`,
      async setUp() {
        // Every txbox variant of the benchmark uses the same outbox: migrate it once.
        await migrate(db, { schema: outboxSchema })
        publishers = (await Promise.all(Array.from({ length: count }, () => destination.publisher(variant)))).map((p) => usage.wrap(p))
      },
      profile() {
        const seen = usage.describe()
        return seen && `${name}: ${seen}.`
      },
      async load({ topic, from, count: n }) {
        await fillOutbox(pool, table, n, { topic, from, traceContext: options.traceContext === true })
        await vacuum(pool, table)
      },
      async drain({ count: n }) {
        const relays: Relay[] = publishers.map((publisher) =>
          createRelay({ db, publisher, schema: outboxSchema, batchSize: options.batchSize, ...(options.blockKeyOnFailure === undefined ? {} : { blockKeyOnFailure: options.blockKeyOnFailure }) }),
        )
        const detach = options.attach ? relays.map((relay) => (options.attach as NonNullable<TxboxRelaysOptions['attach']>)(relay)) : []
        let published = 0
        const t0 = performance.now()
        try {
          await untilDone(async (done) => {
            for (const relay of relays) {
              relay.on('published', ({ messages }) => {
                usage.batches += 1
                // The last batch of a drain is short by nature: it found the outbox empty.
                if (messages.length < options.batchSize && published + messages.length < n) usage.shortBatches += 1
                published += messages.length
                if (published >= n) done()
              })
              relay.on('error', (error) => console.error(`[bench] ${name}: relay error:`, error.message))
            }
            await Promise.all(relays.map((r) => r.start()))
          })
        } finally {
          // Summed over relays, the time in publish() is no share of one wall clock.
          if (count === 1) usage.drainMs += performance.now() - t0
          await Promise.all(relays.map((r) => r.stop()))
          for (const undo of detach) await undo()
        }
        if (published !== n) throw new Error(`${name} published ${published} of ${n}`)
      },
    }
  }
}
