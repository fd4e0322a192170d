import type { Logger, OutboxMessage } from '@txbox/core'
import type { HandlerContext } from '@txbox/core/adapter'
import type { NatsHandlerTimeoutError } from './errors/nats-handler-timeout-error.js'
import type { NatsMessage } from './nats-message.js'
import type { NatsConnectionLike } from './nats-client.js'

/** Options of {@link natsPublisher}. */
export interface NatsPublisherOptions {
  /**
   * Your NATS connection (`await connect({ servers })` from
   * @nats-io/transport-node, v3). You own it: the publisher never closes it,
   * not even in `close()`. nats.js reconnects it by itself after a network
   * failure; while it does, publishes wait up to `ackTimeoutMs` and then fail
   * as transport failures (no attempt spent).
   */
  connection: NatsConnectionLike
  /**
   * The subject each message is published to: a fixed subject, or a function
   * of the message. Default: the message's topic. A JetStream stream must
   * capture it (its `subjects`), or the message fails (`no-stream`) and is
   * retried. A subject NATS cannot take (a space, an empty or wildcard token,
   * a `$JS.` prefix) is refused for that message alone, for good.
   */
  subject?: string | ((message: OutboxMessage) => string)
  /** How long to wait for each message's PubAck, in ms. Default 5000 (the nats.js default). */
  ackTimeoutMs?: number
  /**
   * Pipeline a whole batch even when it holds several messages of one key.
   * Default false: the relay then sends a batch in per-key waves, a key's
   * next message only after its previous one's PubAck, which keeps per-key
   * order when JetStream refuses a message, at one round trip per message of
   * the batch's busiest key.
   *
   * The trade: publishes are independent, so when JetStream refuses one of a
   * key's messages (a full stream with `discard: new`, a lost PubAck whose
   * message was not stored, ...), later messages of its key in the same
   * batch may already be stored: they come before the refused one's retry.
   * Later batches still wait behind it (`blockKeyOnFailure`). The publisher
   * declares `stopsKeyOnFailure` to the relay for this.
   */
  pipelineKeys?: boolean
}

/** What a handler gets besides the message: its `signal` aborts (with a {@link NatsHandlerTimeoutError}) when it outlived `handlerTimeoutMs`. */
export type NatsHandlerContext = HandlerContext

/** Handles one message. Resolving acknowledges it; throwing (or outliving `handlerTimeoutMs`) has it delivered again after `retryDelayMs`. */
export type NatsHandler<T = unknown> = (message: NatsMessage<T>, context: NatsHandlerContext) => Promise<void> | void

/** Options of {@link consumeNats}. */
export interface ConsumeNatsOptions<T = unknown> {
  /** Your NATS connection. You own it: `stop()` never closes it. */
  connection: NatsConnectionLike
  /** The JetStream stream to read. It must exist. */
  stream: string
  /**
   * The durable pull consumer's name. Created if missing, from the stream's
   * first message (explicit acks, no server-side delivery limit: this helper
   * counts deliveries and moves messages to the dead-letter subject itself),
   * so that it survives restarts; every process running the same `durable`
   * shares its messages.
   */
  durable: string
  /** Only messages whose subject matches this filter (wildcards allowed). Default: every message of the stream. */
  filterSubject?: string
  /** Called once per message, one message at a time, in stream order (a handler that outlived `handlerTimeoutMs` is left running while the next starts). */
  handler: NatsHandler<T>
  /** Most messages pulled per request. Default 10. */
  count?: number
  /**
   * How long one pull request waits for messages, in ms (at least 1000, the
   * nats.js minimum). `stop()` waits for the one in progress to end, since
   * JetStream cannot cancel it and would deliver messages to it that no one
   * reads any more. Default 2000.
   */
  fetchWaitMs?: number
  /**
   * JetStream's ack wait for the consumer, in ms: a message not acknowledged
   * (nor declared in progress) for that long is delivered again, to this or
   * another process; that is how the messages of a process that died are
   * recovered. While a handler runs, the consumer tells JetStream every
   * `ackWaitMs / 3` that the messages in hand are in progress, so a slow
   * handler does not have its message handed to someone else. Default 30000.
   */
  ackWaitMs?: number
  /**
   * How long one handler call (with `wrap`) may take, in ms. After that its
   * signal aborts, the delivery counts as failed and the consumer moves on;
   * a handler that never settles is left behind. Also bounds how long
   * `stop()` waits for the handler in flight. Default 30000.
   */
  handlerTimeoutMs?: number
  /** How long JetStream waits before delivering a failed message again, in ms (a delayed nak). Default 1000. */
  retryDelayMs?: number
  /**
   * Deliveries after which a failing message is published to
   * `deadLetterSubject` and terminated (JetStream delivers it no more).
   * A message delivered more often than that without an answer (its handler
   * crashes the process) goes there without running the handler. Default 5.
   */
  maxDeliveries?: number
  /**
   * Where messages that keep failing (or cannot be decoded) are published,
   * with JetStream (a stream must capture this subject, or the dead letter
   * fails and the message is tried again later). Default
   * `txbox.dead.<stream>.<durable>`, so that one stream with subjects
   * `['txbox.dead.>']` keeps every consumer's dead letters.
   */
  deadLetterSubject?: string
  /**
   * Runs around each handler call, e.g. to skip duplicates with the inbox:
   * `wrap: (m, run) => processOnce(db, m.messageId, run)`. It must call `run`
   * (or decide not to, for a duplicate) and resolve once done; throwing counts
   * as a failed delivery. `handlerTimeoutMs` covers `wrap` and handler together.
   */
  wrap?: (message: NatsMessage<T>, run: () => Promise<void>) => Promise<unknown>
  /**
   * Where the consumer logs failed handlers, dead letters and NATS errors
   * (levels `warn` and `error`; each message starts with `txbox nats
   * consumer:`). pino fits. Default: the console (`consoleLogger` of
   * @txbox/core). Pass `silentLogger` to silence it.
   */
  logger?: Logger
}
