import { type Logger, processOnce } from '@txbox/core'
import type { Kysely, Transaction } from 'kysely'

// What an adapter's test gives the consumer conformance suite
// (consumer-conformance.ts), and what the suite asks of it.

/** A message as the conformance suite's handlers see it: what every adapter's consumer hands over. */
export interface ConsumedMessage {
  readonly messageId: string
  readonly payload: unknown
}

/** How the suite asks a fixture to run handlers inside `processOnce`: each adapter wires it its own way (`wrap`, `withProcessOnce`). */
export interface ProcessOnceSetup {
  readonly db: Kysely<any>
  readonly schema: string
  /** The handler's effect, written in the `processOnce` transaction. */
  readonly effect: (trx: Transaction<any>, message: ConsumedMessage) => Promise<void>
}

/**
 * The `wrap` option of a consumer that takes one (`(message, run) => ...`),
 * running the handler inside `processOnce` as `setup` says; `{}` without it.
 */
export function processOnceWrap<M extends ConsumedMessage>(setup: ProcessOnceSetup | undefined): { wrap?: (message: M, run: () => Promise<void>) => Promise<unknown> } {
  if (!setup) return {}
  return {
    wrap: (m, run) =>
      processOnce(
        setup.db,
        m.messageId,
        async (trx) => {
          await setup.effect(trx, m)
          await run()
        },
        { schema: setup.schema },
      ),
  }
}

/** The options every consumer under test is started with. */
export interface ConformanceConsumerOptions {
  readonly handler: (message: ConsumedMessage, context: { readonly signal: AbortSignal | undefined }) => Promise<void>
  /** Runs `handler` inside `processOnce`, keyed by the message id, when given. */
  readonly processOnce?: ProcessOnceSetup
  readonly maxDeliveries: number
  readonly handlerTimeoutMs: number
  /** Absent: the consumer's default (the contract says it must be loud). */
  readonly logger?: Logger
}

/** A consumer the suite started. */
export interface ConformanceConsumer {
  stop(): Promise<void>
  /**
   * Dies as a killed process would: its connection to the broker drops at
   * once, and nothing it holds is acknowledged. Handlers it runs may still
   * settle; their acks must go nowhere.
   */
  crash(): Promise<void>
}

/** What an adapter's test gives the consumer conformance suite: its own queue/stream on the real broker. */
export interface ConsumerFixture {
  /** Publishes one message per id (payload `{ n }`), as the adapter's publisher writes them. The same id twice is a duplicate. */
  publish(messageIds: readonly string[]): Promise<void>
  /** Starts a consumer with the options, retrying failed messages quickly (within about a second). */
  start(options: ConformanceConsumerOptions): Promise<ConformanceConsumer>
  /** Messages delivered and not yet acknowledged (in progress or waiting for a retry). */
  unacknowledged(): Promise<number>
  /** The message ids in the dead letters. */
  deadLetters(): Promise<string[]>
  /** Removes what the fixture created on the broker. */
  close(): Promise<void>
}

/** What a consumer can be held to: BullMQ's Worker, wrapped by `withProcessOnce`, is BullMQ's own in the rest. */
export interface ConsumerCapabilities {
  /** The consumer is txbox's (not the broker library's), so it times handlers out, logs, and stops within a bound. */
  readonly txboxConsumer: boolean
  /** A consumer that dies has its messages delivered to another one (within the fixture's short recovery time). */
  readonly redeliversAfterCrash: boolean
}
