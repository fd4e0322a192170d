import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common'
import { migrate } from '@txbox/core'
import { Redis } from 'ioredis'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { APP_CONFIG, type AppConfig } from './app-config.js'
import { PrismaService, WorkerPrismaService } from './prisma.service.js'

/**
 * The relay's database: txbox's relay runs on Kysely over a pg.Pool of its
 * own (two or three connections), next to Prisma's. The app itself writes
 * through Prisma only.
 */
export const RELAY_POOL = Symbol('relay pg.Pool')
export const RELAY_DB = Symbol('relay Kysely')
/** The app's ioredis client: the relay publishes with it, the worker reads with a duplicate of it. */
export const REDIS = Symbol('Redis')

/**
 * Creates the tables at start-up, before the relay starts (onModuleInit runs
 * before any onApplicationBootstrap): txbox's with migrate() (idempotent, safe
 * when several instances start at once), the app's with plain SQL. In your
 * app, your migration tool does this (txbox ships its DDL as SQL files too).
 */
@Injectable()
class SchemaSetup implements OnModuleInit {
  constructor(
    @Inject(RELAY_DB) private readonly db: Kysely<any>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await migrate(this.db, { schema: this.config.txboxSchema ?? 'txbox' })
    const s = sql.id(this.config.schema ?? 'public')
    await sql`create table if not exists ${s}.users (id serial primary key, email text not null unique)`.execute(this.db)
    await sql`create table if not exists ${s}.invites (code text primary key, redeemed_by integer references ${s}.users (id))`.execute(this.db)
    await sql`create table if not exists ${s}.welcome_emails (user_id integer primary key references ${s}.users (id), message_id text not null)`.execute(this.db)
  }
}

/** Closes what the module opened, after the relay and the worker stopped (see PrismaService). */
@Injectable()
class ConnectionsCloser implements OnApplicationShutdown {
  constructor(
    @Inject(RELAY_DB) private readonly db: Kysely<any>,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy() // ends RELAY_POOL too
    await this.redis.quit()
  }
}

/** The app's connections: Prisma (the API's and the worker's), the relay's pool and Kysely, Redis. */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class whose static methods build it.
export class ConnectionsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConnectionsModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        PrismaService,
        WorkerPrismaService,
        { provide: RELAY_POOL, useFactory: () => new pg.Pool({ connectionString: config.databaseUrl, max: 3 }) },
        { provide: RELAY_DB, inject: [RELAY_POOL], useFactory: (pool: pg.Pool) => new Kysely<any>({ dialect: new PostgresDialect({ pool }) }) },
        {
          provide: REDIS,
          useFactory: () => {
            const redis = new Redis(config.redisUrl)
            // ioredis prints every failed reconnect unless someone listens; the relay warns when Redis is unreachable.
            redis.on('error', () => {})
            return redis
          },
        },
        SchemaSetup,
        ConnectionsCloser,
      ],
      exports: [APP_CONFIG, PrismaService, WorkerPrismaService, RELAY_POOL, RELAY_DB, REDIS],
    }
  }
}
