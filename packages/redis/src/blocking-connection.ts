import { settledWithin } from '@txbox/core/adapter'
import type { RedisBlockingClient, RedisCommandClient } from './redis-client.js'

/** How long stop() keeps retrying CLIENT UNBLOCK before it drops the connection instead. */
const UNBLOCK_WINDOW_MS = 1000
/** How long a Redis command of stop() may take before it is given up (a frozen server never answers). */
const STOP_COMMAND_TIMEOUT_MS = 1000

/**
 * The consumer's own connection (`redis.duplicate()`), for the blocking
 * XREADGROUP, which holds its connection for up to `blockMs`.
 *
 * It knows its Redis client id, to end a read early with CLIENT UNBLOCK, and
 * knows when that id went stale: ioredis reconnects by itself (a Redis
 * restart, a dropped connection) and even resends the read that was in
 * flight, on a connection with another id. Unblocking the old id does
 * nothing, so stop() would wait out `blockMs`. Each (re)connection bumps a
 * generation; an id fetched in an older one is not used.
 */
export class BlockingConnection {
  private readonly client: RedisBlockingClient
  private readonly control: RedisCommandClient
  private generation = 0
  private id: { readonly value: number; readonly generation: number } | undefined
  private reading = false
  /** Set by unblock(): a read about to start returns at once instead. */
  private closing = false
  private failing = false
  /** Resolved when unblock() dropped the connection: a read then in flight returns `null` at once. */
  private dropped: (() => void) | undefined
  private readonly droppedSignal = new Promise<null>((resolve) => {
    this.dropped = () => resolve(null)
  })

  /**
   * @param control the user's client, which sends CLIENT UNBLOCK while this one is blocked.
   * @param onConnectionError called for the first error after each successful connection (ioredis emits one per reconnection attempt).
   */
  constructor(control: RedisCommandClient & { duplicate(): RedisBlockingClient }, onConnectionError: (error: unknown) => void) {
    this.control = control
    this.client = control.duplicate()
    this.client.on('ready', () => {
      this.generation++
      this.failing = false
    })
    // Without a listener ioredis prints "[ioredis] Unhandled error event" to the console, around the logger.
    this.client.on('error', (error: unknown) => {
      if (this.failing) return
      this.failing = true
      onConnectionError(error)
    })
  }

  /** Runs a blocking read (its reply's strings as Buffers; `null` if none); {@link unblock} ends it early. */
  async read(args: readonly (string | number)[]): Promise<unknown> {
    if (this.id?.generation !== this.generation) {
      const value = Number(await this.client.call('CLIENT', 'ID'))
      // The generation when the reply came: a reconnection in between bumped it already.
      this.id = { value, generation: this.generation }
    }
    // From here to the read being sent nothing else runs, so unblock() sees either this or `reading`.
    if (this.closing) return null
    this.reading = true
    try {
      const reply = this.client.callBuffer(...(args as [string, ...(string | number)[]]))
      // A client dropped while ioredis waits to reconnect never settles the
      // commands it holds (disconnect() only clears the reconnect timer), so
      // the read gives up on its reply once the connection is dropped.
      reply.catch(() => {})
      return await Promise.race([reply, this.droppedSignal])
    } finally {
      this.reading = false
    }
  }

  /**
   * Ends a read in progress: CLIENT UNBLOCK makes it return as if it timed out,
   * so no entry is lost in flight. The unblock may reach Redis before the read
   * does, hence the retries. If the id is stale or the unblock does not work
   * (refused by an ACL, Redis not answering), the connection is dropped:
   * entries Redis handed to the read in that moment stay pending, for this
   * consumer name's next start or a claim after `claimIdleMs`.
   */
  async unblock(): Promise<void> {
    this.closing = true
    const deadline = Date.now() + UNBLOCK_WINDOW_MS
    while (this.reading && Date.now() < deadline) {
      if (this.id === undefined || this.id.generation !== this.generation) break
      await settledWithin(
        this.control.call('CLIENT', 'UNBLOCK', this.id.value).catch(() => {}),
        STOP_COMMAND_TIMEOUT_MS,
      )
      if (!this.reading) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    if (this.reading) {
      this.client.disconnect()
      this.dropped?.()
    }
  }

  /** Closes the connection: QUIT, or a plain disconnect if Redis does not answer it in time. */
  async close(): Promise<void> {
    const quit = this.client.quit().then(
      () => true,
      () => false,
    )
    const answered = await settledWithin(quit, STOP_COMMAND_TIMEOUT_MS)
    if (!(answered && 'value' in answered && answered.value)) this.client.disconnect()
  }
}
