// The service: HTTP API, relay and worker in one Nest application.
//   pnpm build   # from the repository root (generates the Prisma client)
//   DATABASE_URL=... REDIS_URL=... PORT=3000 pnpm --filter nestjs-example start
//   curl -X POST localhost:3000/signup -H 'content-type: application/json' -d '{"email":"ada@example.com"}'
import 'reflect-metadata'
import { NestFactory } from '@nestjs/core'
import { AppModule } from './app.module.js'

const app = await NestFactory.create(
  AppModule.forRoot({
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  }),
)
// SIGTERM / SIGINT run the shutdown hooks: the relay finishes its batch in flight, then the connections close.
app.enableShutdownHooks()
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1')
console.log(`listening on ${await app.getUrl()}`)
