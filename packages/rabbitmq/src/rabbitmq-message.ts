import type { OutboxMessage } from '@txbox/core'
import type { ConsumedMessage } from '@txbox/core/adapter'
import type { AmqpMessage, AmqpPublishOptions } from './rabbitmq-client.js'
import { UndecodableMessageError } from './errors/undecodable-message-error.js'

// The wire format, shared by the publisher (which writes it) and the consumer
// (which reads it): the payload is the relay's JSON text as the body, the
// message id is AMQP's messageId property, the topic and key travel in txbox
// headers, and the message's headers as AMQP headers of string values.

/** The header carrying the message's ordering key (absent for unkeyed messages). */
export const KEY_HEADER = 'txbox-key'
/** The header carrying the message's topic (the routing key may differ). */
export const TOPIC_HEADER = 'txbox-topic'

// Headers RabbitMQ adds on its own; they are not the message's headers.
const BROKER_HEADERS = new Set([
  KEY_HEADER,
  TOPIC_HEADER,
  'x-delivery-count',
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
])

/**
 * A message as {@link consumeRabbitmq} hands it to your handler. The topic is
 * the `txbox-topic` header, else the routing key. A header value another
 * producer sent as an AMQP table or array is its JSON text; a number or
 * boolean, its text. See `maxDeliveries` for how `deliveries` is counted.
 */
export interface RabbitmqMessage<T = unknown> extends ConsumedMessage<T> {
  /** RabbitMQ's flag: this message was delivered before (to this or another consumer). */
  readonly redelivered: boolean
}

/** AMQP short strings (exchange, routing key, messageId, header names, content type) hold 255 bytes of UTF-8, not 255 characters. */
export const SHORT_STRING_MAX_BYTES = 255

/**
 * amqplib encodes a message's headers table into a 64 KiB scratch buffer and
 * silently cuts what does not fit: the broker then reads a malformed frame
 * and closes the whole connection (INTERNAL_ERROR), failing every message in
 * flight with it.
 */
const HEADERS_TABLE_MAX_BYTES = 65_536

/**
 * The content header frame around the properties: frame type, channel and
 * size (7), class id, weight, body size and property flags (14), frame end (1).
 */
const CONTENT_HEADER_FRAME_OVERHEAD = 22

const CONTENT_TYPE = 'application/json'

/** Headers RabbitMQ itself interprets (sender-selected distribution), case-sensitive. */
const ROUTING_HEADERS: ReadonlySet<string> = new Set(['CC', 'BCC'])

/** What `channel.publish` takes for one message, or why AMQP cannot carry it as it is. */
export type EncodedMessage = { readonly ok: true; readonly options: AmqpPublishOptions } | { readonly ok: false; readonly problem: string }

/**
 * The publish options of `message` (persistent, mandatory, messageId,
 * contentType, timestamp, its headers plus `txbox-topic` and `txbox-key`),
 * checked against every limit amqplib or the broker would otherwise hit in
 * the middle of `publish`: a short string over 255 bytes makes amqplib throw
 * after it queued the confirm callback; headers over one frame (`frameMax`,
 * as negotiated) make the broker close the connection. A problem found here
 * never goes away on a retry.
 */
export function encodeMessage(message: OutboxMessage, routingKey: string, frameMax: number): EncodedMessage {
  const id = message.messageId
  if (Buffer.byteLength(routingKey, 'utf8') > SHORT_STRING_MAX_BYTES) {
    return refuse(`its routing key "${clip(routingKey)}" is ${Buffer.byteLength(routingKey, 'utf8')} bytes of UTF-8; AMQP carries at most 255`)
  }
  if (Buffer.byteLength(id, 'utf8') > SHORT_STRING_MAX_BYTES) {
    return refuse(`its messageId is ${Buffer.byteLength(id, 'utf8')} bytes of UTF-8; AMQP carries at most 255`)
  }
  const own = message.headers as unknown
  // A row written by another tool may hold JSON null for "no headers".
  if (own !== null && own !== undefined && (typeof own !== 'object' || Array.isArray(own))) {
    return refuse(`its headers are ${Array.isArray(own) ? 'an array' : typeof own}, not an object of string values`)
  }
  // Null prototype: amqplib walks the table with for...in, so what is checked here is exactly what it encodes.
  const headers: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries((own ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string') {
      // amqplib would send a nested table, a number or a void, which consumers read back as "[object Object]" or drop.
      return refuse(`its header "${clip(name)}" is ${value === null ? 'null' : typeof value}; header values must be strings`)
    }
    if (Buffer.byteLength(name, 'utf8') > SHORT_STRING_MAX_BYTES) {
      return refuse(`its header name "${clip(name)}" is ${Buffer.byteLength(name, 'utf8')} bytes of UTF-8; AMQP carries at most 255`)
    }
    if (ROUTING_HEADERS.has(name)) {
      // RabbitMQ reads these for sender-selected routing and closes the
      // channel (406, under every message in flight) when one is a string.
      return refuse(`its header "${name}" is one RabbitMQ reads for routing (it must be an array there, and closes the channel otherwise); rename the header`)
    }
    headers[name] = value
  }
  // txbox's own headers win over same-named message headers.
  delete headers[KEY_HEADER]
  headers[TOPIC_HEADER] = message.topic
  if (message.key !== null) headers[KEY_HEADER] = message.key

  const seconds = Math.floor(message.createdAt.getTime() / 1000)
  const options: AmqpPublishOptions = {
    persistent: true,
    // Unroutable → basic.return → failed, instead of RabbitMQ's silent drop.
    mandatory: true,
    messageId: id,
    contentType: CONTENT_TYPE,
    // AMQP's timestamp is an unsigned 64-bit count of seconds; a row created
    // "infinity" or before 1970 (written by another tool) goes without one.
    ...(Number.isSafeInteger(seconds) && seconds >= 0 ? { timestamp: seconds } : {}),
    headers,
  }

  const table = headersTableBytes(headers)
  if (table > HEADERS_TABLE_MAX_BYTES) {
    return refuse(`its headers take ${table} bytes encoded; amqplib encodes at most ${HEADERS_TABLE_MAX_BYTES}. Move large values into the payload`)
  }
  const frame = CONTENT_HEADER_FRAME_OVERHEAD + propertiesBytes(options, table)
  if (frame > frameMax) {
    return refuse(
      `its properties and headers take a ${frame}-byte content header frame; this connection carries frames of at most ${frameMax} bytes (frame_max). Move large header values into the payload`,
    )
  }
  return { ok: true, options }
}

/** A field table of string values: a 4-byte size, then per entry its name (a short string), a type tag and a long string. */
function headersTableBytes(headers: Record<string, string>): number {
  let bytes = 4
  for (const name in headers) bytes += 1 + Buffer.byteLength(name, 'utf8') + 1 + 4 + Buffer.byteLength(headers[name] as string, 'utf8')
  return bytes
}

/** The basic properties as encoded: contentType and messageId are short strings, deliveryMode one byte, timestamp eight. */
function propertiesBytes(options: AmqpPublishOptions, headersTable: number): number {
  return 1 + Buffer.byteLength(options.contentType, 'utf8') + headersTable + 1 + 1 + Buffer.byteLength(options.messageId, 'utf8') + (options.timestamp === undefined ? 0 : 8)
}

function refuse(problem: string): EncodedMessage {
  return { ok: false, problem }
}

/** A long name, cut for an error message. */
function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

/** Turns a delivery into a {@link RabbitmqMessage}; throws {@link UndecodableMessageError} when it cannot. */
export function decodeMessage<T>(delivery: AmqpMessage, deliveries: number): RabbitmqMessage<T> {
  const { properties, fields } = delivery
  const raw = properties.headers ?? {}
  const messageId = properties.messageId
  if (typeof messageId !== 'string' || messageId === '') {
    throw new UndecodableMessageError(
      `a delivery from queue routing key "${fields.routingKey}" has no messageId property; publish with rabbitmqPublisher (or set messageId) so consumers can drop duplicates.`,
    )
  }
  let payload: T
  try {
    payload = JSON.parse(delivery.content.toString('utf8')) as T
  } catch (error) {
    throw new UndecodableMessageError(`message ${messageId}: the body is not JSON text; it was rejected without requeue.`, { cause: error })
  }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw)) {
    if (BROKER_HEADERS.has(name) || value === undefined || value === null) continue
    headers[name] = headerText(value)
  }
  return {
    messageId,
    topic: headerString(raw[TOPIC_HEADER]) ?? fields.routingKey,
    key: headerString(raw[KEY_HEADER]) ?? null,
    payload,
    headers,
    deliveries,
    redelivered: fields.redelivered === true,
  }
}

/**
 * A header value as text. txbox publishes strings only; other producers may
 * send AMQP tables, arrays, numbers, booleans or byte arrays: tables and
 * arrays arrive as their JSON text (byte arrays inside as UTF-8 strings), so
 * `JSON.parse(m.headers.name)` gives them back, instead of "[object Object]".
 */
function headerText(value: unknown): string {
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (typeof value === 'object' && value !== null) return JSON.stringify(value, jsonHeaderValue)
  return String(value)
}

function jsonHeaderValue(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already turned a Buffer into { type: 'Buffer', data }: read the original.
  const original = (this as Record<string, unknown>)[key]
  if (Buffer.isBuffer(original)) return original.toString('utf8')
  if (typeof value === 'bigint') return value.toString()
  return value
}

function headerString(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  return undefined
}
