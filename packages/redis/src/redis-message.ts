import { isUtf8 } from 'node:buffer'
import type { OutboxMessage } from '@txbox/core'
import type { ConsumedMessage } from '@txbox/core/adapter'

/**
 * A stream entry written by {@link redisStreamsPublisher}, decoded for a
 * handler. `deliveries` counts the deliveries to consumers of the group, this
 * one included.
 */
export interface RedisStreamMessage<T = unknown> extends ConsumedMessage<T> {
  /** The stream the entry was read from. */
  readonly stream: string
  /** The entry's id in the stream (e.g. `1718000000000-0`). */
  readonly streamId: string
}

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

/** The fields the consumer reads; each must be UTF-8 text. */
const TEXT_FIELDS = ['messageId', 'topic', 'payload', 'key', 'headers'] as const

/**
 * Decodes an entry's flat `[field, value, ...]` list as written by
 * {@link entryFields}, read as Buffers. The values are checked to be UTF-8
 * text rather than decoded lossily: other producers write to streams too, and
 * two message ids with different invalid bytes would both turn into U+FFFD
 * and collide in the inbox.
 */
export function decodeEntry<T>(stream: string, streamId: string, flat: readonly Buffer[], deliveries: number): DecodedEntry<T> {
  const raw = new Map<string, Buffer>()
  for (let i = 0; i + 1 < flat.length; i += 2) raw.set((flat[i] as Buffer).toString(), flat[i + 1] as Buffer)
  if (!raw.has('messageId') || !raw.has('topic') || !raw.has('payload')) {
    return { ok: false, reason: 'the entry lacks a messageId, topic or payload field: it was not written by redisStreamsPublisher' }
  }
  const fields = new Map<string, string>()
  for (const name of TEXT_FIELDS) {
    const value = raw.get(name)
    if (value === undefined) continue
    if (!isUtf8(value)) return { ok: false, reason: `the ${name} field is not valid UTF-8` }
    fields.set(name, value.toString('utf8'))
  }
  const messageId = fields.get('messageId') as string
  const topic = fields.get('topic') as string
  if (messageId === '') return { ok: false, reason: 'the messageId field is empty' }
  let payload: T
  try {
    payload = JSON.parse(fields.get('payload') as string) as T
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
