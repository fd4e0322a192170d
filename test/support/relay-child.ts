/**
 * A relay in a process of its own, for tests that kill it. Started by
 * RelayProcess (relay-process.ts), bundled by child-bundle.ts, with its configuration as JSON in
 * TXBOX_FAULT_RELAY; prints `ready` once started and `published <n>` after
 * each committed batch, so the parent can kill it at chosen moments.
 */
import { createRelay, type OutboxMessage, type Publisher, type PublishResult } from '@txbox/core'
import { Redis } from 'ioredis'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { RelayChildConfig } from './relay-process.js'

const config = JSON.parse(process.env.TXBOX_FAULT_RELAY ?? '{}') as RelayChildConfig

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2, application_name: config.applicationName })
// A backend terminated while idle surfaces here; the pool drops that client.
pool.on('error', (error) => process.stderr.write(`pool: ${error.message}\n`))
const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
const redis = new Redis(config.redisUrl, { connectionName: config.applicationName, lazyConnect: false })
redis.on('error', () => {})

/**
 * A minimal Redis Streams publisher: one pipeline of XADDs per call, every
 * reply checked, nothing reported confirmed that Redis did not answer.
 */
function xaddPublisher(stream: string): Publisher {
  return {
    async publish(messages: readonly OutboxMessage[], { signal }): Promise<readonly PublishResult[]> {
      const pipeline = redis.pipeline()
      for (const m of messages) {
        // `outboxId` and `relayPid` only help diagnose a failure.
        const fields = ['messageId', m.messageId, 'topic', m.topic, 'payload', m.payload, 'outboxId', m.id, 'relayPid', String(process.pid)]
        if (m.key !== null) fields.push('key', m.key)
        pipeline.xadd(stream, '*', ...fields)
      }
      const aborted = new Promise<'aborted'>((resolve) => {
        if (signal.aborted) resolve('aborted')
        signal.addEventListener('abort', () => resolve('aborted'), { once: true })
      })
      const replies = await Promise.race([pipeline.exec(), aborted])
      if (replies === 'aborted' || replies === null) {
        const error = new Error('publish aborted before Redis answered')
        return messages.map(() => ({ ok: false as const, error }))
      }
      return replies.map(([error]) => (error ? { ok: false as const, error } : { ok: true as const }))
    },
  }
}

const relay = createRelay({
  db,
  publisher: xaddPublisher(config.stream),
  schema: config.schema,
  batchSize: config.batchSize,
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
  redis.disconnect()
  await db.destroy()
  process.exit(0)
})

await relay.start()
process.stdout.write('ready\n')
