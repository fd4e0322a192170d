import type { FactoryProvider, ModuleMetadata } from '@nestjs/common'
import type { EnqueueOptions, RelayOptions, TableOptions } from '@txbox/core'

/**
 * Options of {@link TxboxModule}. The table options (`schema`, `outboxTable`,
 * …) are given once, at the top, and serve both the relay and
 * {@link OutboxService}, so that the service never writes to an outbox the
 * relay does not read.
 */
export interface TxboxModuleOptions extends TableOptions {
  /**
   * The relay this application runs, as `createRelay` takes it (`db`,
   * `publisher`, `listen`, `batchSize`, …), without the table options. It
   * starts when the application has bootstrapped and stops, gracefully, when
   * the application shuts down. Leave it out in a process that only enqueues
   * (the relay runs elsewhere, for example as `txbox relay`).
   */
  relay?: Omit<RelayOptions, keyof TableOptions>
  /** Defaults of every {@link OutboxService.enqueue} call (`maxPayloadBytes`, `notify`), without the table options. */
  enqueue?: Omit<EnqueueOptions, keyof TableOptions>
  /**
   * The `connectionName` you gave `ClsPluginTransactional`, if you gave one:
   * {@link OutboxService} enqueues in that connection's transaction. Default:
   * the unnamed connection.
   */
  connectionName?: string
}

/** What {@link TxboxModule.forRoot} takes: the module options, and whether the module is global. */
export interface TxboxModuleRootOptions extends TxboxModuleOptions {
  /** Whether OutboxService and TXBOX_RELAY can be injected in every module without importing TxboxModule there. Default true. */
  isGlobal?: boolean
}

/**
 * What {@link TxboxModule.forRootAsync} takes: a factory of the module
 * options (which may inject, for example, your Kysely instance and your
 * broker client), the modules that provide what it injects, and whether the
 * module is global.
 */
export interface TxboxModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Returns the module options. Its arguments are the providers named in `inject`. */
  useFactory: (...args: any[]) => TxboxModuleOptions | Promise<TxboxModuleOptions>
  /** The providers `useFactory` receives, in order. */
  inject?: FactoryProvider['inject']
  /** Whether OutboxService and TXBOX_RELAY can be injected in every module without importing TxboxModule there. Default true. */
  isGlobal?: boolean
}

/** The table options of `options`, only those set (so that they never override with `undefined`). */
export function tableOptionsOf(options: TableOptions): TableOptions {
  const tables: TableOptions = {}
  if (options.schema !== undefined) tables.schema = options.schema
  if (options.outboxTable !== undefined) tables.outboxTable = options.outboxTable
  if (options.deadTable !== undefined) tables.deadTable = options.deadTable
  if (options.inboxTable !== undefined) tables.inboxTable = options.inboxTable
  return tables
}
