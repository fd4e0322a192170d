import { isUtf8 } from 'node:buffer'
import type { OutboxMessage } from '@txbox/core'
import type { ConsumedMessage } from '@txbox/core/adapter'
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node'

// The wire format, shared by the publisher (which writes it) and the consumer
// (which reads it): the payload is the relay's JSON text as UTF-8 bytes, the
// message id is JetStream's own `Nats-Msg-Id` (the stream drops a repeat
// inside its duplicate window), the topic and key travel in txbox headers,
// and the message's headers as NATS headers, names and values unchanged.

/** JetStream's deduplication header: the outbox message id. */
export const MESSAGE_ID_HEADER = 'Nats-Msg-Id'
/** The header carrying the message's ordering key (absent for unkeyed messages). */
export const KEY_HEADER = 'txbox-key'
/** The header carrying the message's topic (the subject may differ). */
export const TOPIC_HEADER = 'txbox-topic'

/** Headers JetStream reads (`Nats-Msg-Id`, `Nats-Expected-*`, `Nats-Rollup`, `Nats-TTL`, …); a message may not set them itself. */
const NATS_PREFIX = 'nats-'
/** Headers the consumer adds to a dead letter (see dead-letter.ts). */
export const DEAD_LETTER_PREFIX = 'txbox-dead-'

/**
 * A message as {@link consumeNats} hands it to your handler. The message id is
 * the `Nats-Msg-Id` header, the topic the `txbox-topic` header (else the
 * subject); JetStream's own headers (`Nats-*`) are left out. `deliveries` is
 * JetStream's count for the durable consumer: it survives restarts and counts
 * every consumer instance.
 */
export interface NatsMessage<T = unknown> extends ConsumedMessage<T> {
  /** The subject the message was stored under. */
  readonly subject: string
  /** The stream it was read from. */
  readonly stream: string
  /** Its sequence number in the stream. */
  readonly streamSequence: number
}

/** What `js.publish` takes for one message, or why NATS cannot carry it as it is. */
export type EncodedMessage =
  | { readonly ok: true; readonly headers: MsgHdrs; readonly data: Uint8Array }
  | { readonly ok: false; readonly problem: string }

/**
 * The headers and body of `message`, checked against what NATS cannot carry:
 * a header name outside printable ASCII or with a colon, a value with a line
 * break (it would end the header block) or with whitespace at either end
 * (NATS trims it), a `Nats-*` header (JetStream acts on those: a `Nats-Rollup`
 * would purge the subject), a message over the server's `max_payload`. A
 * problem found here never goes away on a retry.
 */
export function encodeMessage(message: OutboxMessage, maxPayload: number | undefined): EncodedMessage {
  const own = message.headers as unknown
  // A row written by another tool may hold JSON null for "no headers".
  if (own !== null && own !== undefined && (typeof own !== 'object' || Array.isArray(own))) {
    return refuse(`its headers are ${Array.isArray(own) ? 'an array' : typeof own}, not an object of string values`)
  }
  const problem =
    headerValueProblem('messageId', message.messageId) ??
    headerValueProblem('topic', message.topic) ??
    (message.key === null ? undefined : headerValueProblem('key', message.key))
  if (problem) return refuse(problem)
  const headers = natsHeaders()
  for (const [name, value] of Object.entries((own ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string') return refuse(`its header "${clip(name)}" is ${value === null ? 'null' : typeof value}; header values must be strings`)
    const nameProblem = headerNameProblem(name)
    if (nameProblem) return refuse(`its header name "${clip(name)}" ${nameProblem}`)
    const valueProblem = headerValueProblem(`header "${clip(name)}"`, value)
    if (valueProblem) return refuse(valueProblem)
    // txbox's own headers win over same-named message headers.
    if (name === KEY_HEADER || name === TOPIC_HEADER) continue
    headers.append(name, value)
  }
  headers.set(MESSAGE_ID_HEADER, message.messageId)
  headers.set(TOPIC_HEADER, message.topic)
  if (message.key !== null) headers.set(KEY_HEADER, message.key)
  const data = Buffer.from(message.payload, 'utf8')
  if (maxPayload !== undefined) {
    const size = encodedSize(headers) + data.length
    if (size > maxPayload) return refuse(`it is ${size} bytes with its headers; the NATS server takes at most ${maxPayload} (max_payload)`)
  }
  return { ok: true, headers, data }
}

/** A message the consumer cannot read, and why: no handler can ever succeed on it. */
export type DecodedMessage<T> = { readonly ok: true; readonly message: NatsMessage<T> } | { readonly ok: false; readonly reason: string }

/** The parts of a JetStream message the decoder reads. */
export interface StoredMessage {
  readonly subject: string
  readonly data: Uint8Array
  readonly headers: MsgHdrs | undefined
  readonly info: { readonly stream: string; readonly streamSequence: number; readonly deliveryCount: number }
}

/**
 * Turns a stored message into a {@link NatsMessage}. The body is checked to
 * be UTF-8 JSON text rather than decoded lossily: other producers publish to
 * streams too.
 */
export function decodeMessage<T>(stored: StoredMessage): DecodedMessage<T> {
  const h = stored.headers
  const messageId = h?.get(MESSAGE_ID_HEADER) ?? ''
  if (messageId === '') return { ok: false, reason: `it has no ${MESSAGE_ID_HEADER} header: it was not published by natsPublisher (set one, so consumers can drop duplicates)` }
  const body = Buffer.from(stored.data.buffer, stored.data.byteOffset, stored.data.byteLength)
  if (!isUtf8(body)) return { ok: false, reason: 'its body is not UTF-8 text' }
  let payload: T
  try {
    payload = JSON.parse(body.toString('utf8')) as T
  } catch (error) {
    return { ok: false, reason: `its body is not JSON text: ${(error as Error).message}` }
  }
  const headers: Record<string, string> = {}
  for (const name of h?.keys() ?? []) {
    const lower = name.toLowerCase()
    if (lower.startsWith(NATS_PREFIX) || name === KEY_HEADER || name === TOPIC_HEADER) continue
    headers[name] = (h as MsgHdrs).values(name).join(', ')
  }
  const topic = h?.get(TOPIC_HEADER) || stored.subject
  const key = h?.has(KEY_HEADER) ? (h.get(KEY_HEADER) as string) : null
  const { stream, streamSequence, deliveryCount } = stored.info
  return { ok: true, message: { messageId, topic, key, payload, headers, subject: stored.subject, stream, streamSequence, deliveries: deliveryCount } }
}

/** Why `name` cannot be a NATS header name it may set, or `undefined`. */
function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty'
  // RFC 822 field names, as nats.js checks them: printable ASCII but the colon.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c < 33 || c > 126 || c === 58) return 'has a character NATS headers cannot carry (names are printable ASCII without spaces or colons); rename the header'
  }
  if (name.toLowerCase().startsWith(NATS_PREFIX)) return 'starts with Nats-, which JetStream reads and acts on; rename the header'
  return undefined
}

/** Why `value` cannot travel as a NATS header value unchanged, or `undefined`. */
function headerValueProblem(what: string, value: string): string | undefined {
  if (/[\r\n]/.test(value)) return `its ${what} contains a line break, which NATS headers cannot carry`
  if (value !== value.trim()) return `its ${what} begins or ends with whitespace, which NATS headers drop`
  return undefined
}

/** The bytes NATS sends for `headers`: `NATS/1.0`, then `\r\nname: value` per value, then an empty line. */
function encodedSize(headers: MsgHdrs): number {
  let size = Buffer.byteLength('NATS/1.0\r\n\r\n')
  for (const [name, values] of headers) for (const value of values) size += Buffer.byteLength(`\r\n${name}: ${value}`, 'utf8')
  return size
}

function refuse(problem: string): EncodedMessage {
  return { ok: false, problem }
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
