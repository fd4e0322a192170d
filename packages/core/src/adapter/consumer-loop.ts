import type { Logger } from '../logger.js'
import type { HandlerOutcome } from './handler-call.js'
import { settledWithin } from './settled-within.js'

/** The wait after the n-th failure in a row of a step: 200 ms, doubling, at most 5 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(100 * 2 ** Math.min(failures, 6), 5000)
}

/**
 * The life cycle every pull consumer shares (Redis Streams, NATS JetStream):
 * one loop of steps (read, handle what was read) until `stop()`; a failed
 * step is reported by the subclass and retried with backoff; `stop()` ends
 * waits at once, lets the step in flight finish, and is bounded by
 * {@link stopBoundMs}, because a broker that stops answering must not hold a
 * process that is shutting down. A consumer subclasses it and writes only
 * what is its broker's: {@link step}, {@link recover}, {@link where}.
 */
export abstract class ConsumerLoop {
  protected stopping = false
  /** Ends a wait of the loop (a backoff, or a subclass's wait for messages) early; set by whoever waits. */
  protected wake: (() => void) | undefined
  private loop: Promise<void> | undefined
  private stopped: Promise<void> | undefined

  constructor(
    protected readonly logger: Logger,
    /** How the consumer names itself in its log lines: `txbox redis consumer`. */
    private readonly logName: string,
  ) {}

  start(): this {
    this.loop = this.run()
    return this
  }

  /** Idempotent; resolves once the loop ended, or {@link stopBoundMs} after the call if it does not. */
  stop(): Promise<void> {
    this.stopping = true
    this.wake?.()
    this.stopped ??= (async () => {
      const interrupting = this.interrupt()
      const ended = await settledWithin(this.loop ?? Promise.resolve(), this.stopBoundMs())
      if (!ended) this.log('warn', this.where(), this.gaveUpMessage())
      await interrupting
      await this.release()
    })()
    return this.stopped
  }

  /** One read and the handling of what it returned. A rejection is passed to {@link recover}, then the step is retried after a backoff. */
  protected abstract step(): Promise<void>
  /** Reports a failed step, and repairs what can be (a group or durable consumer deleted under us). */
  protected abstract recover(error: unknown): Promise<void>
  /** The fields that name this consumer in every log line: stream, group, server, ... */
  protected abstract where(): Record<string, unknown>
  /** How long stop() waits for the loop: the handler timeout plus the broker's longest wait. */
  protected abstract stopBoundMs(): number
  /** What stop() logs when it gave up waiting for the loop. */
  protected abstract gaveUpMessage(): string
  /** Whether the loop must end by itself (e.g. the user's connection closed); checked before each step. */
  protected ended(): boolean {
    return false
  }
  /** Called by stop() at once, alongside the wait for the loop: cut a blocking read short. */
  protected async interrupt(): Promise<void> {}
  /** Called by stop() last: close what the consumer opened for itself. */
  protected async release(): Promise<void> {}

  private async run(): Promise<void> {
    let failures = 0
    while (!this.stopping && !this.ended()) {
      try {
        await this.step()
        failures = 0
      } catch (error) {
        if (this.stopping || this.ended()) continue
        failures++
        await this.recover(error)
        await this.sleep(retryDelayMs(failures))
      }
    }
  }

  /** Waits `ms`, or less if stop() comes meanwhile. */
  protected sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }

  /** A handler that timed out may still finish: say so, since its work may now be done twice. */
  protected reportLateHandler(settled: Promise<HandlerOutcome>, fields: Record<string, unknown>): void {
    void settled.then((late) =>
      this.log(
        'warn',
        { ...this.where(), ...fields, succeeded: late.ok, ...(late.ok ? {} : { err: late.error }) },
        'a handler that had timed out settled late; its delivery had already counted as failed',
      ),
    )
  }

  /** Logs with the consumer's name before the message (`txbox redis consumer: ...`). */
  protected log(level: 'debug' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    this.logger[level](fields, `${this.logName}: ${message}`)
  }
}
