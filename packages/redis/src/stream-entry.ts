import type { OutboxMessage } from '@txbox/core'
import type { RedisStreamMessage } from './redis-config.js'

// The field layout of an entry, shared by the publisher (which writes it) and
// the consumer (which reads it). `key` and `headers` are left out when absent,
// so an unkeyed message without headers costs three fields.

/** The XADD field/value list for a message. The payload is the relay's JSON text, never re-serialised. */
export function entryFields(message: OutboxMessage): string[] {
  const fields = ['messageId', message.messageId, 'topic', message.topic, 'payload', message.payload]
  if (message.key !== null) fields.push('key', message.key)
  if (Object.keys(message.headers).length > 0) fields.push('headers', JSON.stringify(message.headers))
  return fields
}

/** A decoded entry, or why it cannot be decoded (then no handler can ever succeed on it). */
export type DecodedEntry<T> = { readonly ok: true; readonly message: RedisStreamMessage<T> } | { readonly ok: false; readonly reason: string }

/** Decodes an entry's flat `[field, value, ...]` list as written by {@link entryFields}. */
export function decodeEntry<T>(stream: string, streamId: string, flat: readonly string[], deliveries: number): DecodedEntry<T> {
  const fields = new Map<string, string>()
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string)
  const messageId = fields.get('messageId')
  const topic = fields.get('topic')
  const payloadText = fields.get('payload')
  if (messageId === undefined || topic === undefined || payloadText === undefined) {
    return { ok: false, reason: 'the entry lacks a messageId, topic or payload field: it was not written by redisStreamsPublisher' }
  }
  let payload: T
  try {
    payload = JSON.parse(payloadText) as T
  } catch (error) {
    return { ok: false, reason: `the payload field is not JSON text: ${(error as Error).message}` }
  }
  let headers: Record<string, string> = {}
  const headersText = fields.get('headers')
  if (headersText !== undefined) {
    try {
      headers = JSON.parse(headersText) as Record<string, string>
    } catch (error) {
      return { ok: false, reason: `the headers field is not JSON text: ${(error as Error).message}` }
    }
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
      return { ok: false, reason: 'the headers field is not a JSON object' }
    }
  }
  return {
    ok: true,
    message: { messageId, topic, key: fields.get('key') ?? null, payload, headers, stream, streamId, deliveries },
  }
}
