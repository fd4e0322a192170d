// The Nest application of this package's tests: TypeORM on the test file's own
// schema, nestjs-cls with the transactional plugin's TypeORM adapter, and
// TxboxModule with the options each test gives it.
import 'reflect-metadata'
import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common'
import { Transactional, TransactionHost } from '@nestjs-cls/transactional'
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm'
import { Test, type TestingModule } from '@nestjs/testing'
import { ClsModule } from 'nestjs-cls'
import { ClsPluginTransactional } from '@nestjs-cls/transactional'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { DataSource } from 'typeorm'
import { OutboxService } from '../src/index.js'

/** The token of the Kysely instance the relay runs on (the application's own, as a Prisma or TypeORM app would add one for txbox). */
export const RELAY_DB = Symbol('relay database')

/**
 * Opens the DataSource and the relay's Kysely on `schema`, and closes both when
 * the application shuts down, in onApplicationShutdown, as the docs advise:
 * TxboxModule stops the relay before (beforeApplicationShutdown), and a relay
 * still settling a batch on a closed pool would publish it twice. Not global:
 * Nest runs the shutdown hooks of the modules the root imports before those of
 * global modules (TxboxModule), which is the order that order must survive.
 */
@Module({})
class DatabaseModule {
  static forSchema(url: string, schema: string): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DataSource,
          useFactory: () => new DataSource({ type: 'postgres', url, extra: { max: 2, options: `-c search_path=${schema},public` } }).initialize(),
        },
        {
          provide: RELAY_DB,
          useFactory: () =>
            new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 3, options: `-c search_path=${schema},public` }) }) }),
        },
        DatabaseCloser,
      ],
      exports: [DataSource, RELAY_DB],
    }
  }
}

@Injectable()
class DatabaseCloser implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(RELAY_DB) private readonly relayDb: Kysely<any>,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.dataSource.destroy()
    await this.relayDb.destroy()
  }
}

/** A service in the style of an application's: writes a user and enqueues its welcome message in one @Transactional() method. */
@Injectable()
export class SignUps {
  constructor(
    @Inject(TransactionHost) private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    @Inject(OutboxService) private readonly outbox: OutboxService,
  ) {}

  /** Creates the user and enqueues `email.welcome`; with `fail`, throws after both, so the transaction rolls back. */
  @Transactional()
  async signUp(email: string, options: { fail?: boolean } = {}): Promise<string[]> {
    const [user] = (await this.txHost.tx.query('insert into users (email) values ($1) returning id', [email])) as { id: number }[]
    const ids = await this.outbox.enqueue({ topic: 'email.welcome', key: `user:${user!.id}`, payload: { userId: user!.id, email } })
    if (options.fail) throw new Error('the sign-up failed after the enqueue')
    return ids
  }

  /** Tries to enqueue a message that is not valid, catches the error, then writes the user: the transaction must still commit. */
  @Transactional()
  async signUpAfterBadEnqueue(email: string): Promise<unknown> {
    const error = await this.outbox.enqueue({ topic: '', payload: {} }).catch((e: unknown) => e)
    await this.txHost.tx.query('insert into users (email) values ($1)', [email])
    return error
  }

  /** Enqueues without a transaction: the mistake OutboxService must refuse. */
  enqueueOutsideTransaction(): Promise<string[]> {
    return this.outbox.enqueue({ topic: 'email.welcome', payload: {} })
  }
}

/** Nest's start-up lines would bury the test report; its errors still show. */
const quietLogger = { log() {}, warn() {}, error: (message: unknown, ...rest: unknown[]) => console.error(message, ...rest) }

/** The testing module (compiled, not initialised: call init() to bootstrap it, as app.init() does). */
export async function compileApp(options: {
  url: string
  schema: string
  /** TxboxModule, given the database module to import where it injects the relay's database. */
  txbox: (database: DynamicModule) => DynamicModule
  transactional?: boolean
}): Promise<TestingModule> {
  const database = DatabaseModule.forSchema(options.url, options.schema)
  const cls = ClsModule.forRoot({
    global: true,
    plugins:
      options.transactional === false
        ? []
        : [new ClsPluginTransactional({ imports: [database], adapter: new TransactionalAdapterTypeOrm({ dataSourceToken: DataSource }) })],
  })
  return Test.createTestingModule({
    imports: [database, cls, options.txbox(database)],
    providers: options.transactional === false ? [] : [SignUps],
  })
    .setLogger(quietLogger)
    .compile()
}
