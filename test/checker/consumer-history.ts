import type { ConsumedMessageSpec, ConsumerRunConfig } from './consumer-scenario-model.js'

/**
 * Everything a consumer-half run observed, from the handler's side, as plain
 * data for check-consumer-history.ts. Messages are identified by `n`, carried
 * in the payload; each has its own message id.
 */

export interface PublishedMessage {
  readonly n: number
  readonly messageId: string
  /** Index into the run's keys, or null. */
  readonly key: number | null
  readonly spec: ConsumedMessageSpec
  /** Date.now() once the broker confirmed it. */
  readonly publishedAt: number
}

export type CallOutcome =
  /** The handler resolved. */
  | 'ok'
  /** It failed as its spec planned. */
  | 'failed'
  /** Its signal aborted (the handler timeout) and it gave up. */
  | 'aborted'
  /** Its consumer was killed while it ran: it did not finish its work. */
  | 'killed'
  /** It failed in a way no spec planned (a database error, ...). */
  | 'error'

/** One handler run (an attempt): inside processOnce when the run uses it, so a duplicate skipped by the inbox is no call. */
export interface HandlerCall {
  readonly n: number
  readonly slot: number
  /** The consumer's life (a kill or stop starts a new one). */
  readonly life: number
  /** The consumer's name in the group (Redis). */
  readonly consumer: string
  /** What the adapter said: which delivery this is. */
  readonly deliveries: number
  /** Which handler run of this message this is, from 1, across consumers. */
  readonly attempt: number
  readonly startedAt: number
  endedAt?: number
  outcome?: CallOutcome
  error?: string
}

export interface ConsumerCrashEvent {
  readonly slot: number
  readonly life: number
  readonly how: 'drop' | 'kill' | 'stop'
  /** The new consumer took another name: the old name's pending entries wait for a claim. */
  readonly renamed: boolean
  readonly at: number
  /** When the slot had its new consumer (kill, stop) or was cut (drop). */
  readonly endedAt: number
}

export interface ConsumerFacts {
  readonly config: ConsumerRunConfig
  readonly published: readonly PublishedMessage[]
  readonly calls: readonly HandlerCall[]
  readonly crashes: readonly ConsumerCrashEvent[]
  /** processOnce resolved `processed` (its transaction committed) for n. */
  readonly processed: readonly { readonly n: number; readonly at: number }[]
  /** n of each dead letter, one entry per dead letter. */
  readonly deadLetters: readonly number[]
  /** Effect rows committed per n (processOnce runs only). */
  readonly effects: ReadonlyMap<number, number>
  /** The end of the run: a message is judged on its calls up to here. */
  readonly endedAt: number
  /** Stops that were not bounded (the consumer promises stop() returns). */
  readonly stalls: readonly string[]
  /** Things that went wrong in the harness itself. */
  readonly harnessErrors: readonly string[]
  /** The consumers' last log lines (warn and error), for the report. */
  readonly log: readonly string[]
}

/** Collects facts while a run goes. */
export class ConsumerHistory {
  readonly published: PublishedMessage[] = []
  readonly calls: HandlerCall[] = []
  readonly crashes: ConsumerCrashEvent[] = []
  readonly processed: { n: number; at: number }[] = []
  readonly stalls: string[] = []
  readonly harnessErrors: string[] = []
  readonly log: string[] = []
  private readonly attempts = new Map<number, number>()
  private nextN = 0

  takeN(): number {
    this.nextN += 1
    return this.nextN
  }

  /** The next handler run of n, from 1. */
  takeAttempt(n: number): number {
    const attempt = (this.attempts.get(n) ?? 0) + 1
    this.attempts.set(n, attempt)
    return attempt
  }

  note(line: string): void {
    this.log.push(line)
    if (this.log.length > 400) this.log.splice(0, this.log.length - 400)
  }

  facts(config: ConsumerRunConfig, rest: { deadLetters: readonly number[]; effects: ReadonlyMap<number, number>; endedAt: number }): ConsumerFacts {
    return {
      config,
      ...rest,
      published: this.published,
      calls: this.calls,
      crashes: this.crashes,
      processed: this.processed,
      stalls: this.stalls,
      harnessErrors: this.harnessErrors,
      log: this.log,
    }
  }
}
