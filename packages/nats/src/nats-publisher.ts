import { InvalidOptionError, type OutboxMessage, type Publisher, type PublishResult } from '@txbox/core'
import { boolean, integer, MAX_TIMER_MS, type OptionDeclaration, resolveOptions, textOrCallback } from '@txbox/core/adapter'
import { type JetStreamClient, jetstream, type PubAck } from '@nats-io/jetstream'
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node'
import { CONNECTION_OPTION } from './nats-options.js'
import { NatsPublishError, type NatsPublishFailure } from './errors/nats-publish-error.js'
import type { NatsPublisherOptions } from './nats-config.js'
import { type EncodedMessage, encodeMessage } from './nats-message.js'
import { subjectProblem } from './nats-subject.js'
import { describe, publishFailure, TRANSPORT_FAILURES } from './publish-failure.js'

const WHERE = 'natsPublisher'

/** The options of {@link natsPublisher}, declared once (checked by resolveOptions, shown in docs/api.md). */
export const PUBLISHER_OPTIONS = {
  connection: CONNECTION_OPTION,
  subject: subjectOption(),
  ackTimeoutMs: integer({ min: 1, max: MAX_TIMER_MS, unit: 'ms', default: 5000, description: "How long to wait for each message's PubAck (the nats.js default)." }),
  pipelineKeys: boolean({
    default: false,
    description: "One pipelined call per batch instead of per-key waves; a message JetStream refuses can then be overtaken by its key's later messages of that batch.",
  }),
} as const satisfies Record<keyof NatsPublisherOptions, OptionDeclaration<any>>

type SubjectOf = (message: OutboxMessage) => string

/** A message ready to go: where, and what. */
interface Prepared {
  readonly index: number
  readonly subject: string
  readonly headers: MsgHdrs
  readonly data: Uint8Array
}

/**
 * A {@link Publisher} that stores each outbox message in a NATS JetStream
 * stream. Give it to the relay:
 *
 * ```ts
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' })
 * const relay = createRelay({ db, publisher: natsPublisher({ connection: nc }) })
 * ```
 *
 * Each message is published to its subject (default: its topic) with
 * `Nats-Msg-Id` = its message id, so the stream drops a repeat inside its
 * duplicate window (a relay that crashed after publishing and before
 * committing publishes the batch again: no duplicate is stored). Its headers
 * travel as NATS headers, with `txbox-topic` and `txbox-key`; the body is
 * the payload's JSON text.
 *
 * A batch is pipelined: every message is sent, then every PubAck awaited
 * (each within `ackTimeoutMs`). A message counts as published only once its
 * PubAck names the stream that stored it; a PubAck saying `duplicate` counts
 * as published (the stream holds the message already). Each message has its
 * own outcome (see {@link NatsPublishError} for the reasons). Messages of one
 * key are independent publishes, so the publisher does not declare
 * `stopsKeyOnFailure`: the relay sends a batch in waves of one message per
 * key, which keeps per-key order when a message fails. With `pipelineKeys`
 * it declares it, deliberately, and each batch goes in one call: see that
 * option for what it trades.
 *
 * `close()` does nothing to the connection: it is yours, close it yourself.
 */
export function natsPublisher(options: NatsPublisherOptions): Publisher {
  const { connection, subject, ackTimeoutMs, pipelineKeys } = resolveOptions(WHERE, PUBLISHER_OPTIONS, options)
  const subjectOf: SubjectOf = subject === undefined ? (m) => m.topic : typeof subject === 'function' ? subject : () => subject
  let js: JetStreamClient | undefined

  return {
    messagingSystem: 'nats',
    ...(pipelineKeys ? { stopsKeyOnFailure: true } : {}),

    async publish(messages, { signal }) {
      const results: (PublishResult | undefined)[] = new Array(messages.length)
      const ready: Prepared[] = []
      // Read per call: a reconnect may land on a server with another max_payload.
      const maxPayload = connection.info?.max_payload
      messages.forEach((message, index) => {
        const prepared = prepare(subjectOf, message, index, maxPayload)
        if ('result' in prepared) results[index] = prepared.result
        else ready.push(prepared)
      })
      const fail = (p: Prepared, reason: NatsPublishFailure, detail: string, cause?: unknown) => {
        results[p.index] = failed(reason, messages[p.index] as OutboxMessage, p.subject, detail, cause)
      }
      if (ready.length > 0 && signal.aborted) {
        for (const p of ready) fail(p, 'aborted', 'the publish was aborted before it was sent', signal.reason)
      } else if (ready.length > 0 && (connection.isClosed() || connection.isDraining())) {
        for (const p of ready) fail(p, 'connection', 'the NATS connection given to natsPublisher is closed; open a new connection and publisher')
      } else if (ready.length > 0) {
        js ??= jetstream(connection as unknown as NatsConnection, { timeout: ackTimeoutMs })
        await sendAll(js, ready, ackTimeoutMs, signal, (p, outcome) => {
          if (outcome.ok) {
            const ack = outcome.ack
            // Only a PubAck naming the stream and sequence that hold the message confirms it.
            if (typeof ack?.stream === 'string' && ack.stream !== '' && typeof ack.seq === 'number') results[p.index] = { ok: true }
            else fail(p, 'refused', `JetStream answered ${JSON.stringify(ack)} instead of a PubAck`)
          } else if (outcome.aborted) {
            fail(p, 'aborted', "the relay stopped waiting for JetStream's PubAck", signal.reason)
          } else {
            const { reason, detail } = publishFailure(outcome.error)
            fail(p, reason, detail, outcome.error)
          }
        })
      }
      return results as PublishResult[]
    },

    async close() {
      // Nothing to release: the connection belongs to the caller.
    },
  }
}

type SendOutcome = { readonly ok: true; readonly ack: PubAck } | { readonly ok: false; readonly aborted: false; readonly error: unknown } | { readonly ok: false; readonly aborted: true }

/**
 * Sends every message, then waits for every PubAck (or the relay's abort):
 * one outcome per message, through `settle`, exactly once each. A PubAck
 * that arrives after the abort is ignored: its message was reported failed,
 * and its retry is dropped by the stream as a duplicate.
 */
function sendAll(js: JetStreamClient, ready: readonly Prepared[], timeout: number, signal: AbortSignal, settle: (p: Prepared, outcome: SendOutcome) => void): Promise<void> {
  return new Promise((resolve) => {
    let open = ready.length
    let done = false
    const finish = () => {
      if (done) return
      done = true
      signal.removeEventListener('abort', onAbort)
      resolve()
    }
    const settled = new Set<Prepared>()
    const once = (p: Prepared, outcome: SendOutcome) => {
      if (done || settled.has(p)) return
      settled.add(p)
      settle(p, outcome)
      open -= 1
      if (open === 0) finish()
    }
    const onAbort = () => {
      for (const p of ready) once(p, { ok: false, aborted: true })
      finish()
    }
    signal.addEventListener('abort', onAbort, { once: true })
    // All sent before any PubAck is awaited: nats.js writes each publish to
    // the socket buffer synchronously, and flushes them together.
    for (const p of ready) {
      let ack: Promise<PubAck>
      try {
        ack = js.publish(p.subject, p.data, { headers: p.headers, timeout })
      } catch (error) {
        ack = Promise.reject(error)
      }
      ack.then(
        (pubAck) => once(p, { ok: true, ack: pubAck }),
        (error: unknown) => once(p, { ok: false, aborted: false, error }),
      )
    }
  })
}

/** Where and what to send for `message`, or its result when it cannot be sent. */
function prepare(subjectOf: SubjectOf, message: OutboxMessage, index: number, maxPayload: number | undefined): Prepared | { readonly result: PublishResult } {
  let subject: unknown
  try {
    subject = subjectOf(message)
  } catch (error) {
    return { result: failed('subject-function', message, undefined, `the subject function threw (${describe(error)})`, error) }
  }
  if (typeof subject !== 'string') {
    return { result: failed('subject-function', message, undefined, `the subject function returned ${subject === null ? 'null' : typeof subject}; it must return a subject (a string)`) }
  }
  const problem = subjectProblem(subject)
  if (problem) return { result: failed('unpublishable', message, subject, `its subject "${clip(subject)}" cannot be published to: ${problem}`) }
  let encoded: EncodedMessage
  try {
    encoded = encodeMessage(message, maxPayload)
  } catch (error) {
    // A message the relay did not build (a field of the wrong type): fail it alone rather than the whole call.
    return { result: failed('encode-failed', message, subject, `encoding it threw (${describe(error)})`, error) }
  }
  if (!encoded.ok) return { result: failed('unpublishable', message, subject, `NATS cannot carry it: ${encoded.problem}`) }
  return { index, subject, headers: encoded.headers, data: encoded.data }
}

/** A failed result: permanent for what NATS can never take, transport where NATS was not reached. */
function failed(reason: NatsPublishFailure, message: OutboxMessage, subject: string | undefined, detail: string, cause?: unknown): PublishResult {
  const where = subject === undefined ? 'NATS' : `subject "${clip(subject)}"`
  const next =
    reason === 'unpublishable'
      ? 'It was not sent and is not retried: it goes to the dead letters.'
      : reason === 'no-stream'
        ? 'Create a stream whose subjects capture it.'
        : ''
  const error = new NatsPublishError(reason, message.messageId, subject, `message ${message.messageId} was not stored by JetStream on ${where}: ${detail}.${next ? ` ${next}` : ''}`, cause === undefined ? undefined : { cause })
  if (reason === 'unpublishable') return { ok: false, error, permanent: true }
  if (TRANSPORT_FAILURES.has(reason)) return { ok: false, error, transport: true }
  return { ok: false, error }
}

/** A subject NATS can publish to, or a function of the message (whose subjects are checked per message). */
function subjectOption() {
  const declaration = textOrCallback<SubjectOf>()({
    signature: '(message) => string',
    defaultText: 'the topic',
    description: 'The subject each message is published to (a JetStream stream must capture it): fixed, or a function of the message.',
  })
  return {
    ...declaration,
    accept: (value: unknown) => {
      const accepted = declaration.accept(value)
      if (typeof accepted !== 'string') return accepted
      const problem = subjectProblem(accepted)
      if (problem) throw new InvalidOptionError('subject', `${WHERE}: subject "${clip(accepted)}" cannot be published to: ${problem}.`)
      return accepted
    },
  }
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}
