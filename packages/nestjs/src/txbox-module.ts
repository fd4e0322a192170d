import { type DynamicModule, Module, type Provider } from '@nestjs/common'
import { createRelay, type Relay } from '@txbox/core'
import { OutboxService } from './outbox-service.js'
import { RelayLifecycle } from './relay-lifecycle.js'
import { TXBOX_OPTIONS, TXBOX_RELAY } from './tokens.js'
import { type TxboxModuleAsyncOptions, type TxboxModuleOptions, type TxboxModuleRootOptions, tableOptionsOf } from './txbox-module-options.js'

/**
 * txbox in a Nest application: the relay runs with the application (started
 * on bootstrap, stopped gracefully on shutdown) and {@link OutboxService}
 * enqueues in the current `@Transactional()` transaction of
 * `@nestjs-cls/transactional`.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     ClsModule.forRoot({ global: true, middleware: { mount: true }, plugins: [new ClsPluginTransactional({ imports: [PrismaModule], adapter: new TransactionalAdapterPrisma({ prismaInjectionToken: PrismaService }) })] }),
 *     TxboxModule.forRoot({ relay: { db, listen: pool, publisher: redisStreamsPublisher({ redis }) } }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class whose static methods build it.
export class TxboxModule {
  /** The module, configured with options known when the module is declared. */
  static forRoot(options: TxboxModuleRootOptions): DynamicModule {
    const { isGlobal, ...moduleOptions } = options
    return TxboxModule.assemble({ provide: TXBOX_OPTIONS, useValue: moduleOptions }, [], isGlobal)
  }

  /** The module, configured by a factory that may inject providers (your database, your broker client, ConfigService). */
  static forRootAsync(options: TxboxModuleAsyncOptions): DynamicModule {
    const provider: Provider = { provide: TXBOX_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }
    return TxboxModule.assemble(provider, options.imports ?? [], options.isGlobal)
  }

  private static assemble(optionsProvider: Provider, imports: NonNullable<TxboxModuleAsyncOptions['imports']>, isGlobal = true): DynamicModule {
    const relayProvider: Provider = {
      provide: TXBOX_RELAY,
      // createRelay validates its options: a bad one fails the application's start, not the first batch.
      useFactory: (options: TxboxModuleOptions): Relay | null => (options.relay ? createRelay({ ...options.relay, ...tableOptionsOf(options) }) : null),
      inject: [TXBOX_OPTIONS],
    }
    return {
      module: TxboxModule,
      global: isGlobal,
      imports,
      providers: [optionsProvider, relayProvider, RelayLifecycle, OutboxService],
      exports: [OutboxService, TXBOX_RELAY],
    }
  }
}
