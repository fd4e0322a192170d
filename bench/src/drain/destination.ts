import type { Publisher } from '@txbox/core'

/** One claimed row as a bare loop (or a peer's job handler) hands it to a broker. */
export interface BareRow {
  readonly message_id: string
  readonly topic: string
  readonly key: string | null
  /** The payload's JSON text, as the outbox holds it. */
  readonly payload: string
}

/** Publisher options a benchmark varies. */
export interface PublisherVariant {
  readonly pipelineKeys?: boolean
}

/**
 * Where a drain benchmark sends: a broker, opened once for the whole
 * benchmark. Every competitor of that benchmark sends here, so adding a
 * broker to the bench is writing one of these (see destinations/).
 */
export interface Destination {
  /** "Redis Streams", "BullMQ", ...: for titles. */
  readonly name: string
  /** How messages are sent and counted, for the notes. */
  readonly notes: string
  /** The topic of one round's messages (a stream, a queue, a subject), unique to the label if the broker needs it. */
  topic(label: string): string
  /**
   * A new txbox publisher for a relay (each relay gets its own connection).
   * Closed by {@link close}. `pipelineKeys` is passed to publishers that have
   * the option (one round trip per batch instead of per-key waves).
   */
  publisher(options?: PublisherVariant): Promise<Publisher>
  /**
   * What a bare loop does with a claimed batch: send every row, resolve once
   * the broker confirmed all of them, reject if any was not. One call per batch.
   */
  send(rows: readonly BareRow[]): Promise<void>
  /** How many messages the broker holds for `topic` (checked after every drain). */
  count(topic: string): Promise<number>
  /** Removes what `topic` holds (untimed, after every drain). */
  clear(topic: string): Promise<void>
  /** Deletes everything this run created on the broker and closes every connection. */
  close(): Promise<void>
}
