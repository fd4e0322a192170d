/**
 * A relay in a process of its own, for tests that kill it, publishing to a
 * Redis stream or, with `bullmq` in its configuration, into a BullMQ queue. Started by
 * RelayProcess (relay-process.ts), bundled by child-bundle.ts, with its configuration as JSON in
 * TXBOX_FAULT_RELAY; prints `ready` once started and `published <n>` after
 * each committed batch, so the parent can kill it at chosen moments.
 */
import { createRelay } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { Redis } from 'ioredis'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { RelayChildConfig } from './relay-process.js'

const config = JSON.parse(process.env.TXBOX_FAULT_RELAY ?? '{}') as RelayChildConfig

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2, application_name: config.applicationName })
// A backend terminated while its client is idle in the pool surfaces here;
// the pool drops that client.
pool.on('error', (error) => process.stderr.write(`pool: ${error.message}\n`))
// A backend terminated while its client is checked out but between queries
// (the relay holds its transaction open while it publishes) makes that client
// emit 'error' with no listener: pg-pool listens only to idle clients and
// Kysely's driver adds none, so without this line the process crashes. The
// next query on that client fails, the relay's transaction rolls back, and
// the pool replaces the client.
pool.on('connect', (client) => client.on('error', (error) => process.stderr.write(`client: ${error.message}\n`)))
const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) })
const redis = new Redis(config.redisUrl, { connectionName: config.applicationName, lazyConnect: false })
redis.on('error', () => {})

const relay = createRelay({
  db,
  publisher: config.bullmq
    ? // Loaded only here, so the Redis children do not evaluate BullMQ at start.
      (await import('@txbox/bullmq')).bullmqPublisher({ connection: redis, queue: config.bullmq.queue, prefix: config.bullmq.prefix })
    : redisStreamsPublisher({ redis, stream: config.stream }),
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
