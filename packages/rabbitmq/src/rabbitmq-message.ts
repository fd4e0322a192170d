import type { AmqpMessage } from './amqp-types.js'
import { UndecodableMessageError } from './errors/undecodable-message-error.js'

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

/** A message as {@link consumeRabbitmq} hands it to your handler. */
export interface RabbitmqMessage<T = unknown> {
  /** The stable id given at enqueue: use it to drop duplicates (`processOnce` does). */
  readonly messageId: string
  /** The topic given at enqueue (from the `txbox-topic` header, else the routing key). */
  readonly topic: string
  /** The ordering key, or null for an unkeyed message. */
  readonly key: string | null
  /** The payload, parsed from the JSON body. */
  readonly payload: T
  /**
   * The headers given at enqueue (and trace context), without txbox's and
   * RabbitMQ's own. A value another producer sent as an AMQP table or array is
   * its JSON text; a number or boolean, its text.
   */
  readonly headers: Readonly<Record<string, string>>
  /** Which delivery of this message this is, from 1 (see `maxDeliveries` for how it is counted). */
  readonly deliveries: number
  /** RabbitMQ's flag: this message was delivered before (to this or another consumer). */
  readonly redelivered: boolean
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
