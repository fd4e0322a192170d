import { InvalidMessageError } from '../errors/invalid-message-error.js'
import { PayloadTooLargeError } from '../errors/payload-too-large-error.js'
import type { OutboxMessageInput, ValidatedMessage } from './message.js'
import { newMessageId } from './message-id.js'
import { serializeJson } from './serialize-json.js'
import { captureTraceContext } from './trace-context.js'

const MESSAGE_FIELDS = new Set(['topic', 'payload', 'key', 'headers', 'delay', 'availableAt', 'messageId'])
const MAX_TOPIC = 255
const MAX_KEY = 1024
const MAX_MESSAGE_ID = 255

/**
 * Checks one message and serialises it. Throws a typed error naming the field
 * and saying what to do; runs no SQL, so a rejected message leaves the
 * caller's transaction untouched.
 */
export function validateMessage(input: unknown, at: string, maxPayloadBytes: number): ValidatedMessage {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidMessageError(at, `${at} must be an object like { topic: 'user.created', payload: { ... } }, got ${describe(input)}.`)
  }
  const m = input as OutboxMessageInput
  for (const field of Object.keys(m)) {
    if (!MESSAGE_FIELDS.has(field)) {
      throw new InvalidMessageError(`${at}.${field}`, `${at} has an unknown field "${field}". Known fields: ${[...MESSAGE_FIELDS].join(', ')}. (Put your data in payload.)`)
    }
  }

  if (typeof m.topic !== 'string' || m.topic.trim() === '') {
    throw new InvalidMessageError(`${at}.topic`, `${at}.topic must be a non-empty string such as 'email.welcome', got ${describe(m.topic)}.`)
  }
  rejectNul(m.topic, `${at}.topic`)
  if (m.topic.length > MAX_TOPIC) {
    throw new InvalidMessageError(`${at}.topic`, `${at}.topic is ${m.topic.length} characters long; the limit is ${MAX_TOPIC}.`)
  }

  let key: string | null = null
  if (m.key !== undefined && m.key !== null) {
    if (typeof m.key !== 'string' || m.key === '') {
      throw new InvalidMessageError(`${at}.key`, `${at}.key must be a non-empty string (such as \`user:\${id}\`), or null/omitted for unordered messages; got ${describe(m.key)}.`)
    }
    if (m.key.length > MAX_KEY) throw new InvalidMessageError(`${at}.key`, `${at}.key is ${m.key.length} characters long; the limit is ${MAX_KEY}.`)
    rejectNul(m.key, `${at}.key`)
    key = m.key
  }

  let messageId: string
  if (m.messageId === undefined || m.messageId === null) {
    messageId = newMessageId()
  } else {
    if (typeof m.messageId !== 'string' || m.messageId.trim() === '' || m.messageId.length > MAX_MESSAGE_ID) {
      throw new InvalidMessageError(`${at}.messageId`, `${at}.messageId must be a non-empty string of at most ${MAX_MESSAGE_ID} characters (or omitted for a generated UUIDv7); got ${describe(m.messageId)}.`)
    }
    rejectNul(m.messageId, `${at}.messageId`)
    messageId = m.messageId
  }

  if (!('payload' in m)) {
    throw new InvalidMessageError(`${at}.payload`, `${at}.payload is missing: give the message's data (use null for none).`)
  }
  const payload = serializeJson(m.payload, `${at}.payload`)
  const bytes = Buffer.byteLength(payload)
  if (bytes > maxPayloadBytes) throw new PayloadTooLargeError(`${at}.payload`, bytes, maxPayloadBytes)

  const headers = validateHeaders(m.headers, `${at}.headers`)

  let delayMs: number | null = null
  let availableAt: Date | null = null
  if (m.delay !== undefined && m.availableAt !== undefined) {
    throw new InvalidMessageError(`${at}.delay`, `${at} has both delay and availableAt: give one of them.`)
  }
  if (m.delay !== undefined) {
    if (typeof m.delay !== 'number' || !Number.isFinite(m.delay) || m.delay < 0) {
      throw new InvalidMessageError(`${at}.delay`, `${at}.delay must be a finite number of milliseconds ≥ 0, got ${describe(m.delay)}.`)
    }
    if (m.delay > 0) delayMs = m.delay
  }
  if (m.availableAt !== undefined) {
    if (!(m.availableAt instanceof Date) || Number.isNaN(m.availableAt.getTime())) {
      throw new InvalidMessageError(`${at}.availableAt`, `${at}.availableAt must be a valid Date, got ${describe(m.availableAt)}.`)
    }
    availableAt = m.availableAt
  }

  return { messageId, topic: m.topic, key, payload, headers, delayMs, availableAt }
}

// PostgreSQL text cannot hold U+0000: the INSERT would fail and abort the
// caller's transaction. Caught here, before any SQL.
function rejectNul(value: string, field: string): void {
  if (value.includes('\u0000')) {
    throw new InvalidMessageError(field, `${field} contains the character U+0000, which PostgreSQL cannot store in text: remove it.`)
  }
}

function validateHeaders(headers: unknown, at: string): string | null {
  const trace = captureTraceContext()
  if (headers === undefined || headers === null) {
    return Object.keys(trace).length > 0 ? JSON.stringify(trace) : null
  }
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new InvalidMessageError(at, `${at} must be an object of string values, such as { 'x-tenant': 'acme' }; got ${describe(headers)}.`)
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      throw new InvalidMessageError(`${at}.${name}`, `${at}["${name}"] must be a string, got ${describe(value)}. Convert it with String(value), or put structured data in the payload.`)
    }
    if (name.startsWith('txbox-')) {
      throw new InvalidMessageError(`${at}.${name}`, `${at}["${name}"]: header names starting with "txbox-" are reserved for txbox.`)
    }
  }
  // The caller's own headers win over the captured trace context.
  return serializeJson({ ...trace, ...headers }, at)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return `Invalid Date`
  if (typeof value === 'object') return 'an object'
  return String(value)
}
