/**
 * A relay into NATS JetStream in a process of its own, for tests that kill
 * it (the NATS variant of relay-child.ts; the CLI does not open nats:// URLs
 * yet). Started by RelayProcess.startNatsScript, with its configuration as
 * JSON in TXBOX_FAULT_RELAY; prints `ready` once started and `published <n>`
 * after each committed batch.
 *
 * After each call it also publishes the ids JetStream confirmed (core NATS,
 * to `confirmedSubject`), so the test can count the messages confirmed more
 * than once: publishes a killed relay had made and the next one repeated,
 * each of which the stream dropped as a duplicate. Then it prints
 * `confirmed <n>` and holds for `holdAfterConfirmMs` before the relay
 * commits, so that the test can strike in that window.
 */
import { createRelay, type Publisher } from '@txbox/core'
import { natsPublisher } from '@txbox/nats'
import { connect } from '@nats-io/transport-node'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { NatsRelayChildConfig } from './relay-process.js'

const config = JSON.parse(process.env.TXBOX_FAULT_RELAY ?? '{}') as NatsRelayChildConfig

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: (config.concurrency ?? 2) + 1, application_name: config.applicationName })
// See relay-child.ts: a terminated backend must not crash the process.
pool.on('error', (error) => process.stderr.write(`pool: ${error.message}\n`))
pool.on('connect', (client) => client.on('error', (error) => process.stderr.write(`client: ${error.message}\n`)))
const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
const nc = await connect({ servers: config.natsUrl, name: config.applicationName })

const inner = natsPublisher({ connection: nc, subject: config.subject })
const publisher: Publisher = {
  async publish(messages, context) {
    const results = await inner.publish(messages, context)
    const confirmed = messages.filter((_, i) => results[i]?.ok === true).map((m) => m.messageId)
    if (confirmed.length > 0) {
      nc.publish(config.confirmedSubject, JSON.stringify(confirmed))
      // The log must be on the server before the test may kill this process.
      await nc.flush()
      process.stdout.write(`confirmed ${confirmed.length}\n`)
      if (config.holdAfterConfirmMs) await new Promise((resolve) => setTimeout(resolve, config.holdAfterConfirmMs))
    }
    return results
  },
}

const relay = createRelay({
  db,
  publisher,
  schema: config.schema,
  batchSize: config.batchSize,
  concurrency: config.concurrency ?? 2,
  pollInterval: config.pollInterval ?? 50,
  publishTimeout: config.publishTimeout ?? 2000,
  maxAttempts: config.maxAttempts ?? 1000,
  backoff: { initialDelay: 50, maxDelay: 500 },
})
relay.on('published', ({ messages }) => process.stdout.write(`published ${messages.length}\n`))
relay.on('error', (error) => process.stderr.write(`relay: ${error.message}\n`))

let stopping = false
process.on('SIGTERM', async () => {
  if (stopping) return
  stopping = true
  await relay.stop()
  await nc.drain().catch(() => nc.close())
  await db.destroy()
  process.exit(0)
})

await relay.start()
process.stdout.write('ready\n')
