import { BrokerPublishError } from '@txbox/core/adapter'

/**
 * Why JetStream did not store a message:
 * - `no-stream`: no stream captures its subject (NATS answered "no responders"). Create the stream or fix the subject; the message stays in the outbox and is retried, and spends an attempt;
 * - `refused`: the stream answered with an error (a full stream with `discard: new`, a message over the stream's `max_msg_size`, …); `cause` keeps the JetStream API error with its `code`. Spends an attempt;
 * - `unavailable`: JetStream answered that it cannot store anything now (temporarily unavailable, insufficient resources, not enabled for the account);
 * - `timeout`: no PubAck within `ackTimeoutMs`. The message may have been stored: a retry with the same `Nats-Msg-Id` inside the stream's duplicate window is dropped by the stream;
 * - `connection`: the connection was closed, is draining, or failed before the PubAck came;
 * - `aborted`: the relay stopped waiting (its publish timeout);
 * - `subject-function`: the `subject` function threw or did not return a string. Spends an attempt (a fix and a redeploy may cure it);
 * - `encode-failed`: encoding it threw (a field of the wrong type, in a row another tool wrote). Spends an attempt;
 * - `unpublishable`: NATS can never carry the message as it is (an invalid subject, a header it cannot carry, larger than the server's `max_payload`). It was never sent.
 *
 * `unpublishable` is permanent: the relay moves the message to the dead letters at
 * once. `unavailable`, `timeout`, `connection` and `aborted` are transport
 * failures: they spend no attempt, and the relay backs off until NATS answers
 * again. The others spend an attempt.
 */
export type NatsPublishFailure = 'no-stream' | 'refused' | 'unavailable' | 'timeout' | 'connection' | 'aborted' | 'subject-function' | 'encode-failed' | 'unpublishable'

/**
 * A message the NATS publisher could not get a PubAck for (code
 * `NATS_PUBLISH`). Reported in its PublishResult, never thrown; `cause`
 * keeps the NATS client's error when there is one. Fields as every adapter's
 * publish error: `reason`, `messageId`; and `subject`.
 */
export class NatsPublishError extends BrokerPublishError<NatsPublishFailure> {
  declare readonly messageId: string
  /** The subject it was published to (`undefined` when choosing it failed). */
  readonly subject: string | undefined

  constructor(reason: NatsPublishFailure, messageId: string, subject: string | undefined, message: string, options?: { cause?: unknown }) {
    super('NATS_PUBLISH', reason, messageId, message, options)
    this.subject = subject
  }
}
