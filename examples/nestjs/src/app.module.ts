import { type DynamicModule, Module } from '@nestjs/common'
import { ClsPluginTransactional } from '@nestjs-cls/transactional'
import { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma'
import { TxboxModule } from '@txbox/nestjs'
import { redisStreamsPublisher } from '@txbox/redis'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import { ClsModule } from 'nestjs-cls'
import type pg from 'pg'
import { APP_CONFIG, type AppConfig } from './app-config.js'
import { ConnectionsModule, REDIS, RELAY_DB, RELAY_POOL } from './connections.module.js'
import { Mailer } from './mailer.js'
import { PrismaService } from './prisma.service.js'
import { SignUpController } from './signup.controller.js'
import { SignUpService } from './signup.service.js'
import { WelcomeWorker } from './welcome-worker.js'

/** The service: the sign-up API, the relay (run by TxboxModule) and the welcome-email worker. */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class whose static methods build it.
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const connections = ConnectionsModule.forRoot(config)
    return {
      module: AppModule,
      imports: [
        connections,
        // @Transactional() opens a Prisma interactive transaction and holds its `tx` for the call.
        ClsModule.forRoot({
          global: true,
          plugins: [
            new ClsPluginTransactional({
              imports: [connections],
              adapter: new TransactionalAdapterPrisma<PrismaService>({
                prismaInjectionToken: PrismaService,
                // Prisma gives up on a transaction that waits over 2 s (its default) for one of
                // the pool's connections: a burst of sign-ups larger than the pool waits longer.
                defaultTxOptions: { maxWait: 10_000 },
              }),
            }),
          ],
        }),
        // The relay starts once the app has bootstrapped and stops, after its batch in flight, on shutdown.
        TxboxModule.forRootAsync({
          imports: [connections],
          inject: [RELAY_DB, RELAY_POOL, REDIS, APP_CONFIG],
          useFactory: (db: Kysely<any>, pool: pg.Pool, redis: Redis, config: AppConfig) => ({
            schema: config.txboxSchema ?? 'txbox',
            relay: {
              db,
              pool,
              publisher: redisStreamsPublisher({ redis, stream: (message) => `${config.streamPrefix ?? ''}${message.topic}` }),
              // @Transactional() transactions are not opened by txbox, so no wake-up
              // signal follows their commit: the relay finds their messages by
              // polling, one indexed query per interval while idle.
              pollInterval: 100,
            },
          }),
        }),
      ],
      controllers: [SignUpController],
      providers: [SignUpService, WelcomeWorker, Mailer],
    }
  }
}
