import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common'
import { PrismaPg } from '@prisma/adapter-pg'
import { APP_CONFIG, type AppConfig } from './app-config.js'
import { PrismaClient } from './generated/prisma/client.js'

/** A Prisma 7 client on node-postgres (through @prisma/adapter-pg), with a pool of `max` connections. */
abstract class PooledPrisma extends PrismaClient implements OnApplicationShutdown {
  constructor(config: AppConfig, max: number) {
    super({ adapter: new PrismaPg({ connectionString: config.databaseUrl, max }, { schema: config.schema ?? 'public' }) })
  }

  // Not onModuleDestroy: TxboxModule stops the relay (and the worker its
  // consumer) in beforeApplicationShutdown, and both may still need the database then.
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect()
  }
}

/** The API's Prisma client: @Transactional() opens its transactions on it. */
@Injectable()
export class PrismaService extends PooledPrisma {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super(config, 4)
  }
}

/**
 * The worker's Prisma client, on connections of its own, as a separate worker
 * process would have: a worker sharing the API's pool waits for a connection
 * while the API's open transactions hold them all.
 */
@Injectable()
export class WorkerPrismaService extends PooledPrisma {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super(config, 2)
  }
}
