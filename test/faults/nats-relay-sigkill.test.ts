import { migrate } from '@txbox/core'
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { serviceUrls, uniqueName, useTestDatabase, waitFor } from '@txbox/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countConfirmedTwice, readJetStreamDeliveries } from '../support/nats-deliveries.js'
import { type NatsRelayChildConfig, RelayProcess } from '../support/relay-process.js'
import { drainAndCheck, expectInvariants, pause } from '../support/scenario.js'
import { startWriters } from '../support/writers.js'

// Issue 16's "Done when" for NATS: the relay SIGKILLed 20 times mid-stream
// into JetStream, and every committed message is in the stream exactly once.
// A killed relay's batch stays in the outbox (its transaction rolled back),
// so the next relay publishes it again; the stream drops each repeat by its
// Nats-Msg-Id (the message id) inside its duplicate window. Every other kill
// lands after JetStream confirmed a batch and before the relay committed it,
// so repeats certainly happen (a random moment rarely falls in that window).
const t = useTestDatabase('f_nats_kill', { poolSize: 4 })
const natsUrl = serviceUrls().natsUrl
const BATCH_SIZE = 20
const CONCURRENCY = 2
const stream = uniqueName('nats_kill')
/** Keeps the ids each relay saw confirmed, to count the repeats the stream absorbed. */
const confirmedStream = `${stream}_confirmed`
let nc: NatsConnection
let jsm: JetStreamManager
let js: JetStreamClient

beforeAll(async () => {
  await migrate(t.db, { schema: t.schema })
  nc = await connect({ servers: natsUrl })
  jsm = await jetstreamManager(nc)
  js = jetstream(nc)
  // The default duplicate window (2 minutes) is longer than the whole scenario.
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.File })
  await jsm.streams.add({ name: confirmedStream, subjects: [`${confirmedStream}.>`], storage: StorageType.Memory })
})
afterAll(async () => {
  await jsm?.streams.delete(stream).catch(() => {})
  await jsm?.streams.delete(confirmedStream).catch(() => {})
  await nc?.close()
})

/** `holdAfterConfirmMs`: a window after each confirmed call, for a kill to land in (see nats-relay-child.ts). */
function relayConfig(holdAfterConfirmMs = 0): NatsRelayChildConfig {
  return {
    databaseUrl: t.url,
    schema: t.schema,
    natsUrl,
    subject: `${stream}.orders`,
    confirmedSubject: `${confirmedStream}.ids`,
    batchSize: BATCH_SIZE,
    concurrency: CONCURRENCY,
    applicationName: uniqueName('relay_nats_kill'),
    holdAfterConfirmMs,
  }
}

describe('relay into NATS JetStream killed with SIGKILL', () => {
  it('20 kills mid-stream: every committed message in the stream exactly once, in per-key order, 0 duplicates', { timeout: 90_000 }, async () => {
    const KILLS = 20
    const writers = startWriters({ db: t.db, schema: t.schema, topic: 'orders', keys: ['k1', 'k2', 'k3', 'k4', 'k5'], pauseMs: 10 })
    let relay: RelayProcess | undefined
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const afterConfirm = kill % 2 === 1
        relay = await RelayProcess.startNatsScript(relayConfig(afterConfirm ? 30 : 0))
        await relay.waitReady()
        const current = relay
        if (!afterConfirm) {
          // Strike while it works: after it published something, at a random moment.
          await current.waitPublishedMoreThan(0)
          await pause(Math.floor(Math.random() * 150))
        } else {
          // Strike after JetStream confirmed a batch and before the relay committed it:
          // the batch goes back to the outbox and the next relay publishes it again.
          await waitFor(() => current.confirmed > 0 || !current.alive, { timeoutMs: 15_000, message: 'a confirmed batch' })
        }
        await current.kill()
      }
    } finally {
      await writers.stop()
      await relay?.kill()
    }

    const survivor = await RelayProcess.startNatsScript(relayConfig())
    try {
      await survivor.waitReady()
      const result = await drainAndCheck({ db: t.db, schema: t.schema, history: writers.ledger, readDeliveries: () => readJetStreamDeliveries(js, jsm, stream) })
      const { confirmations, repeated } = await countConfirmedTwice(js, jsm, confirmedStream)
      expectInvariants(
        'nats sigkill',
        result,
        // repeatedPublishes: messages JetStream confirmed to two relays (a killed one and the next); each is stored once.
        { kills: KILLS, transactions: writers.ledger.transactions, batchSize: BATCH_SIZE, confirmations, repeatedPublishes: repeated },
        { maxDuplicates: 0, minCommitted: KILLS * 5 },
      )
      // The kills after a confirmation (every other one) made relays publish batches again: the stream took each once.
      expect(repeated, 'messages confirmed twice (published again after a kill)').toBeGreaterThanOrEqual(KILLS / 2)
      expect(result.report.deliveries).toBe(result.report.committed)
    } finally {
      await survivor.stop()
    }
  })
})
