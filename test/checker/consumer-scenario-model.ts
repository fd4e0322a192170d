/**
 * What one run of the checker's consumer half does, as plain data: generated
 * from a seed (generate-consumer-scenario.ts), shrunk by dropping actions,
 * printed and replayed as JSON (`half: 'consumer'` tells it from a relay
 * scenario). Nothing here refers to a live object.
 */

export type ConsumerBrokerKind = 'redis' | 'rabbitmq'

export interface ConsumerRunConfig {
  readonly broker: ConsumerBrokerKind
  /** Consumers of one group (Redis) or one queue (RabbitMQ), running at once (1–4). */
  readonly consumers: number
  readonly maxDeliveries: number
  /** Whether the handler runs inside `processOnce` (the consumer's `wrap`), writing its effect in that transaction. */
  readonly processOnce: boolean
  /** Redis `count`; RabbitMQ `prefetch`. */
  readonly batch: number
  /** Redis only. */
  readonly claimIdleMs: number
  /** Redis only: RabbitMQ has no handler timeout. */
  readonly handlerTimeoutMs: number
  /** RabbitMQ only. */
  readonly queueType: 'quorum' | 'classic'
  /** Ordering keys to draw from. */
  readonly keys: number
}

/** What a message's handler does on each of its attempts (handler runs, counted across consumers). */
export interface ConsumedMessageSpec {
  /** Index into the run's keys, or null for an unkeyed message. */
  readonly key: number | null
  /** Its first `fails` attempts fail; `fails >= maxDeliveries` means it must end as a dead letter. */
  readonly fails: number
  /**
   * How a failing attempt fails: `throw`; `effect-then-throw` writes its
   * effect first (processOnce must roll it back); `hang` waits until the
   * consumer's handler timeout aborts it (Redis only).
   */
  readonly failBy: 'throw' | 'effect-then-throw' | 'hang'
  /** How long each attempt works before it ends, in ms (well under the handler timeout). */
  readonly slowMs: number
}

export type ConsumerAction =
  /** The publisher appends these messages (one publish call, in order). */
  | { readonly t: 'publish'; readonly messages: readonly ConsumedMessageSpec[] }
  /**
   * Consumer slot `consumer` fails:
   * - `drop`: its connections are reset; it reconnects by itself;
   * - `kill`: the process dies: its connections are cut for good, its
   *   handlers in flight never finish their work, and a new consumer takes
   *   the slot (under a new name with `rename`, else the same one);
   * - `stop`: stopped gracefully (`stop()`), then a new one takes the slot.
   */
  | { readonly t: 'crash'; readonly consumer: number; readonly how: 'drop' | 'kill' | 'stop'; readonly rename: boolean }
  /** Lets the consumers work for `ms`. */
  | { readonly t: 'pause'; readonly ms: number }
  /** Waits until everything published so far is handled or dead (bounded). */
  | { readonly t: 'quiesce' }

export interface ConsumerScenario {
  readonly half: 'consumer'
  readonly seed: number
  readonly config: ConsumerRunConfig
  readonly actions: readonly ConsumerAction[]
}
