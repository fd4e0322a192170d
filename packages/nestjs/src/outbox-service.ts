import { Inject, Injectable } from '@nestjs/common'
import { ModuleRef } from '@nestjs/core'
import { getTransactionHostToken, type TransactionHost } from '@nestjs-cls/transactional'
import { type EnqueueOptions, enqueueOnCommit, NotInTransactionError, type OutboxMessageInput } from '@txbox/core'
import { tableOptionsOf, type TxboxModuleOptions } from './txbox-module-options.js'
import { TXBOX_OPTIONS } from './tokens.js'

/**
 * Records outbox messages in the transaction that `@nestjs-cls/transactional`
 * holds for the current request: call {@link OutboxService.enqueue} from a
 * `@Transactional()` method (or inside `txHost.withTransaction(…)`), and the
 * message commits or rolls back with the data written there, whichever
 * adapter opened the transaction (Prisma, TypeORM, Kysely, knex, Drizzle…;
 * see `enqueueOnCommit` for the transaction handles txbox supports).
 *
 * @example
 * ```ts
 * @Injectable()
 * export class SignUpService {
 *   constructor(
 *     @Inject(TransactionHost) private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaClient>>,
 *     @Inject(OutboxService) private readonly outbox: OutboxService,
 *   ) {}
 *
 *   @Transactional()
 *   async signUp(email: string) {
 *     const user = await this.txHost.tx.user.create({ data: { email } })
 *     await this.outbox.enqueue({ topic: 'email.welcome', key: `user:${user.id}`, payload: { userId: user.id } })
 *     return user
 *   }
 * }
 * ```
 */
@Injectable()
export class OutboxService {
  private txHost: TransactionHost<any> | undefined
  private readonly defaults: EnqueueOptions

  constructor(
    @Inject(TXBOX_OPTIONS) private readonly options: TxboxModuleOptions,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.defaults = { ...options.enqueue, ...tableOptionsOf(options) }
  }

  /**
   * Records one message, or many in one statement, in the current
   * `@Transactional()` transaction, and returns their message ids (in input
   * order). The relay publishes them once that transaction has committed; if
   * it rolls back, they never existed. `options` override the module's
   * `enqueue` defaults for this call.
   *
   * @throws NotInTransactionError when no transaction is active: the message
   *   would otherwise be recorded whether or not your data commits.
   * @throws InvalidMessageError, PayloadNotJsonError, PayloadTooLargeError on
   *   bad input, before any SQL runs: the transaction stays usable.
   */
  async enqueue(messages: OutboxMessageInput | readonly OutboxMessageInput[], options?: EnqueueOptions): Promise<string[]> {
    const txHost = this.transactionHost()
    if (!txHost.isTransactionActive()) {
      const decorator = this.options.connectionName === undefined ? '@Transactional()' : `@Transactional(${JSON.stringify(this.options.connectionName)})`
      throw new NotInTransactionError(
        `OutboxService.enqueue(message) was called outside a transaction, so the message would be recorded whether or not your data commits: call it from a method decorated with ${decorator} (from @nestjs-cls/transactional), or inside txHost.withTransaction(async () => { … }), in a request (or a cls.run()) that ClsModule set up.`,
      )
    }
    return enqueueOnCommit(txHost.tx as object, messages, { ...this.defaults, ...options })
  }

  /**
   * The TransactionHost of the configured connection, looked up on first use
   * rather than injected: it is registered by ClsPluginTransactional in
   * ClsModule, which the application may import after this module, and a
   * process that only runs the relay need not register it at all.
   */
  private transactionHost(): TransactionHost<any> {
    if (this.txHost) return this.txHost
    const token = getTransactionHostToken(this.options.connectionName)
    try {
      this.txHost = this.moduleRef.get<TransactionHost<any>>(token, { strict: false })
    } catch {
      // moduleRef.get throws a generic 'could not find' error: say which plugin is missing instead.
      const named = this.options.connectionName === undefined ? '' : ` with connectionName ${JSON.stringify(this.options.connectionName)}`
      throw new NotInTransactionError(
        `OutboxService.enqueue(message) found no TransactionHost${named}, so there is no transaction to record the message in: register the @nestjs-cls/transactional plugin, as in ClsModule.forRoot({ plugins: [new ClsPluginTransactional({ adapter: new TransactionalAdapterPrisma({ prismaInjectionToken: PrismaService }) })] }) (or the adapter of your ORM).`,
      )
    }
    return this.txHost
  }
}
