import { hostname } from 'node:os'
import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common'
import { consumeRedisStream, type RedisStreamConsumer } from '@txbox/redis'
import type { Redis } from 'ioredis'
import { APP_CONFIG, type AppConfig, WELCOME_TOPIC, type WelcomeEmail } from './app-config.js'
import { REDIS } from './connections.module.js'
import { Mailer } from './mailer.js'
import { WorkerPrismaService } from './prisma.service.js'

/** What the worker saw when a message reached it. */
export interface Delivery {
  readonly messageId: string
  readonly userId: number
  /** Whether the user existed when the message arrived: false is the race txbox prevents. */
  readonly userFound: boolean
}

/**
 * Reads the welcome-email stream and sends each email once. In the same
 * process as the API here; a separate worker process in a larger deployment.
 */
@Injectable()
export class WelcomeWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Every message handled, in order (the test reads it; a real worker would log it). */
  readonly deliveries: Delivery[] = []
  private consumer: RedisStreamConsumer | undefined

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(WorkerPrismaService) private readonly prisma: WorkerPrismaService,
    @Inject(Mailer) private readonly mailer: Mailer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = await consumeRedisStream<WelcomeEmail>({
      redis: this.redis,
      stream: `${this.config.streamPrefix ?? ''}${WELCOME_TOPIC}`,
      group: 'welcome-mailer',
      consumer: hostname(),
      handler: async (message) => {
        const { userId, email } = message.payload
        const user = await this.prisma.user.findUnique({ where: { id: userId } })
        this.deliveries.push({ messageId: message.messageId, userId, userFound: user !== null })
        // Had the message left before the commit, this would be the bug: "user does not exist".
        if (!user) throw new Error(`user ${userId} does not exist`)
        // Once per user, even when a message is delivered twice (at least once):
        // the row and the email commit together, or neither does and the message is retried.
        await this.prisma.$transaction(async (tx) => {
          const { count } = await tx.welcomeEmail.createMany({ data: [{ userId, messageId: message.messageId }], skipDuplicates: true })
          if (count === 1) await this.mailer.send(email, 'Welcome!')
        })
      },
    })
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.stop() // finishes the message in hand
  }
}
