import { setTimeout as sleep } from 'node:timers/promises'
import { ConflictException, Inject, Injectable, UnprocessableEntityException } from '@nestjs/common'
import { Transactional, TransactionHost } from '@nestjs-cls/transactional'
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma'
import { OutboxService } from '@txbox/nestjs'
import { APP_CONFIG, type AppConfig, WELCOME_TOPIC, type WelcomeEmail } from './app-config.js'
import type { PrismaService } from './prisma.service.js'

/**
 * Sign-up: the user, its welcome email and the invite it redeems, in one
 * transaction. The email is not sent here: it is recorded in the outbox, in
 * this transaction, and the relay publishes it once the transaction has
 * committed. So the worker always finds the user, and a sign-up that rolls
 * back sends nothing.
 */
@Injectable()
export class SignUpService {
  constructor(
    @Inject(TransactionHost) private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>,
    @Inject(OutboxService) private readonly outbox: OutboxService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Transactional()
  async signUp(email: string, inviteCode?: string): Promise<{ id: number; email: string }> {
    const tx = this.txHost.tx // Prisma's interactive-transaction client, held for this call by @nestjs-cls/transactional
    if (await tx.user.findUnique({ where: { email } })) throw new ConflictException('email already registered')
    const user = await tx.user.create({ data: { email } })
    const payload: WelcomeEmail = { userId: user.id, email: user.email }
    await this.outbox.enqueue({ topic: WELCOME_TOPIC, key: `user:${user.id}`, payload })
    if (inviteCode !== undefined) {
      // After the user and the message on purpose: a bad code throws, and both roll back with it.
      const { count } = await tx.invite.updateMany({ where: { code: inviteCode, redeemedBy: null }, data: { redeemedBy: user.id } })
      if (count === 0) throw new UnprocessableEntityException('unknown or already used invite code')
    }
    if (this.config.restOfRequestMs) await sleep(this.config.restOfRequestMs)
    return user
  }
}
