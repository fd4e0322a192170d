// The service: HTTP API, relay and worker in one process (split them as you scale).
//   DATABASE_URL=... REDIS_URL=... PORT=3000 pnpm --filter http-app-example start
//   curl -X POST localhost:3000/signup -H 'content-type: application/json' -d '{"email":"ada@example.com"}'
import { createRelay, migrate } from '@txbox/core'
import { redisStreamsPublisher } from '@txbox/redis'
import { Redis } from 'ioredis'
import { connect, createAppTables } from './database.js'
import { buildHttpServer, WELCOME_TOPIC } from './http-server.js'
import { startWelcomeWorker } from './welcome-worker.js'

const { db, pool } = connect(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test')
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')

await migrate(db)
await createAppTables(db)

const relay = createRelay({ db, listen: pool, publisher: redisStreamsPublisher({ redis }) })
relay.on('error', (error) => console.error('relay:', error.message))
await relay.start()

const worker = await startWelcomeWorker({
  db,
  redis,
  stream: WELCOME_TOPIC,
  sendEmail: async (to, subject) => console.log(`mail to ${to}: ${subject}`),
})

const http = buildHttpServer({ db })
const address = await http.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(`listening on ${address}`)

const shutdown = async () => {
  await http.close() // no new signups
  await relay.stop() // publishes what is in flight
  await worker.stop() // finishes the message in hand
  await redis.quit()
  await db.destroy()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
