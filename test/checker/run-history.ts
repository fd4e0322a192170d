import type { PublishCallRecord } from '@txbox/testing'

/**
 * Everything a checker run observed, as plain data for check-history.ts.
 * Messages are identified by `n`, a number unique in the run carried in the
 * payload: message ids may repeat (idempotency keys reused), payloads do not.
 */

/** Where a committed message stands in its key's commit order. */
export interface Rank {
  /** The ticket its transaction took once it held its keys' locks (see WriterLedger in test/support/writers.ts). */
  readonly ticket: number
  /** Its place among its transaction's messages. */
  readonly index: number
}

export type WrittenStatus =
  | 'committed'
  | 'rolled-back'
  /** COMMIT failed with the connection: either outcome is allowed. */
  | 'in-doubt'
  /** Its message id was already in the outbox: enqueue did nothing (ON CONFLICT DO NOTHING). */
  | 'not-inserted'
  /** enqueueOnCommit refused it with a typed error; the transaction went on. */
  | 'refused'

export interface WrittenMessage {
  readonly n: number
  /** Set once enqueue returned it, when txbox generated it. */
  messageId: string
  readonly key: string | null
  readonly topic: string
  /** Delay asked for at enqueue, in ms (0: none). */
  readonly delayMs: number
  /** Date.now() just before the enqueue call. */
  readonly enqueuedAt: number
  /** Written into the table by hand, not through enqueueOnCommit (no key lock, so no order). */
  readonly raw: boolean
  /** Input that passes validation but is hard on a broker (see MessageSpec.odd); a plain message has none. */
  readonly odd?: string
  status: WrittenStatus
  /** Set for committed keyed messages. */
  rank?: Rank
}

/** A publish call of one relay (slot), in one of its lives (generation: a restart starts a new one). */
export interface RelayCall extends PublishCallRecord {
  readonly relay: number
  readonly generation: number
}

export interface CrashEvent {
  readonly relay: number
  /** The life that was hit: a restart abandons it for good, a termination lets it reconnect. */
  readonly generation: number
  readonly at: number
  readonly restart: boolean
}

/** A relay reported moving message `n` to the dead letters (after its COMMIT). */
export interface DeathEvent {
  readonly n: number
  readonly at: number
}

/** An error a relay reported (its 'error' event): not a violation in itself, but it tells why a batch was repeated. */
export interface RelayError {
  readonly relay: number
  readonly generation: number
  readonly at: number
  readonly message: string
}

export type DeadSelection = { readonly ids: readonly string[] } | { readonly topic: string } | { readonly all: true }

/** One `txbox dead retry|purge` run, with the dead letters before and after it. */
export interface OperatorCommand {
  readonly kind: 'retry' | 'purge'
  readonly selection: DeadSelection
  readonly startedAt: number
  readonly endedAt: number
  /** Commit-order tickets taken just before the command started and just after it ended. */
  readonly ticketBefore: number
  readonly ticketAfter: number
  /** Deliveries the broker held once the snapshot was read: later ones may come from what the command moved. */
  readonly mark: number
  /** Dead letters (n) before, and after. */
  readonly before: readonly number[]
  readonly after: readonly number[]
  readonly exitCode: number | null
  readonly output: string
}

/** One message as the broker holds it, in the broker's order. */
export interface BrokerDelivery {
  readonly messageId: string
  /** From the payload; null when the payload does not parse. */
  readonly n: number | null
  readonly key: string | null
  /** When the broker (Redis entry id) or the consumer (RabbitMQ) got it, ms since the epoch. */
  readonly at: number
}

/** A row still in the outbox after the clean drain. */
export interface LeftoverRow {
  readonly n: number | null
  readonly messageId: string
  readonly attempts: number
  readonly availableAt: string | null
  readonly lastError: string | null
}

export interface RunFacts {
  readonly blockKeyOnFailure: boolean
  readonly maxAttempts: number
  readonly publishTimeoutMs: number
  readonly written: readonly WrittenMessage[]
  readonly calls: readonly RelayCall[]
  readonly crashes: readonly CrashEvent[]
  readonly deaths: readonly DeathEvent[]
  readonly relayErrors?: readonly RelayError[]
  readonly commands: readonly OperatorCommand[]
  readonly deliveries: readonly BrokerDelivery[]
  /** n of each dead letter at the end. */
  readonly finalDead: readonly number[]
  readonly leftovers: readonly LeftoverRow[]
  /** Writer transactions that failed in a way a valid input never should (a raw database error, an aborted transaction). */
  readonly writerErrors: readonly string[]
  /** The run itself went wrong: a relay that would not stop, a drain that timed out waiting on a hung call. */
  readonly harnessErrors: readonly string[]
}

/** Collects facts while a run goes; `facts()` freezes them for the checker. */
export class RunHistory {
  readonly written: WrittenMessage[] = []
  readonly calls: RelayCall[] = []
  readonly crashes: CrashEvent[] = []
  readonly deaths: DeathEvent[] = []
  readonly relayErrors: RelayError[] = []
  readonly commands: OperatorCommand[] = []
  readonly writerErrors: string[] = []
  readonly harnessErrors: string[] = []
  private tickets = 0
  private nextN = 0

  /** A number no other message of the run has. */
  takeN(): number {
    this.nextN += 1
    return this.nextN
  }

  /** A commit-order ticket: see Rank. */
  takeTicket(): number {
    this.tickets += 1
    return this.tickets
  }

  facts(rest: {
    readonly blockKeyOnFailure: boolean
    readonly maxAttempts: number
    readonly publishTimeoutMs: number
    readonly deliveries: readonly BrokerDelivery[]
    readonly finalDead: readonly number[]
    readonly leftovers: readonly LeftoverRow[]
  }): RunFacts {
    return {
      ...rest,
      written: this.written,
      calls: this.calls,
      crashes: this.crashes,
      deaths: this.deaths,
      relayErrors: this.relayErrors,
      commands: this.commands,
      writerErrors: this.writerErrors,
      harnessErrors: this.harnessErrors,
    }
  }
}

/** The payload every checker message carries: `n` identifies it in the run. */
export function parseN(payload: string | Buffer): number | null {
  try {
    const value = JSON.parse(payload.toString()) as { n?: unknown }
    return typeof value?.n === 'number' ? value.n : null
  } catch {
    return null
  }
}
