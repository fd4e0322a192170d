import type { Logger } from '@txbox/core'
import { type ConnectionOptions, Queue } from 'bullmq'

/**
 * The `Queue` objects a publisher adds jobs through, one per queue name,
 * created on first use. They share the caller's ioredis client when
 * `connection` is one (BullMQ never closes a client it was given).
 */
export class QueuePool {
  private readonly queues = new Map<string, Queue>()
  /** Set after a Redis error was logged; cleared by {@link succeeded}, so an outage is logged once, not once per queue and retry. */
  private outageLogged = false

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix: string | undefined,
    private readonly logger: Logger,
  ) {}

  /** The queue named `name`; throws what BullMQ throws for a name it refuses (e.g. one with `:`). */
  get(name: string): Queue {
    let queue = this.queues.get(name)
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, ...(this.prefix === undefined ? {} : { prefix: this.prefix }) })
      // An 'error' event without a listener would throw and end the process.
      queue.on('error', (error) => {
        if (this.outageLogged) return
        this.outageLogged = true
        this.logger.warn({ err: error, queue: name }, 'txbox bullmq publisher: Redis error; failed adds are retried by the relay')
      })
      this.queues.set(name, queue)
    }
    return queue
  }

  /** A publish went through: log the next Redis error again. */
  succeeded(): void {
    this.outageLogged = false
  }

  /**
   * Drops the queue after a lost connection: a `Queue` whose connection
   * failed to initialise stays failed, so the next publish makes a new one.
   */
  evict(name: string): void {
    const queue = this.queues.get(name)
    if (!queue) return
    this.queues.delete(name)
    queue.close().catch(() => {})
  }

  async closeAll(): Promise<void> {
    const queues = [...this.queues.values()]
    this.queues.clear()
    await Promise.allSettled(queues.map((queue) => queue.close()))
  }
}
