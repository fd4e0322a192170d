import { InvalidMessageError } from '../errors/invalid-message-error.js'
import { PayloadNotJsonError } from '../errors/payload-not-json-error.js'
import { PayloadTooLargeError } from '../errors/payload-too-large-error.js'
import { TxboxError } from '../errors/txbox-error.js'
import type { CreateSpans } from '../tracing/create-spans.js'
import type { OutboxMessageInput, ValidatedMessage } from './message.js'
import { newMessageId } from './message-id.js'
import { serializeJson } from './serialize-json.js'
import { unstorableText } from './storable-text.js'

const MESSAGE_FIELDS = new Set(['topic', 'payload', 'key', 'headers', 'delay', 'availableAt', 'messageId'])
/**
 * The most UTF-8 bytes a topic, key, message id or header name may take: what
 * an AMQP 0-9-1 short string holds (the routing key, the message-id property,
 * a header table's field names). Counted in characters, a topic of 200 × 'é'
 * (400 bytes) passed, and amqplib threw while encoding it, after queueing its
 * confirm callback: every later confirm on that channel was credited to the
 * wrong message. Keys travel in a header value, which holds more, but keep the
 * same limit so that a key can also serve as a routing key.
 */
const MAX_NAME_BYTES = 255
/** The latest time a JavaScript Date holds (year 275760); timestamptz reaches further (294276 AD). */
const LATEST_DATE_MS = 8.64e15
/**
 * The earliest time timestamptz holds (4714-11-24 BC, 00:00 UTC), plus a day:
 * node-postgres sends a Date in local time with a whole-minute offset, which
 * moves a historic local mean time by up to a minute.
 */
const EARLIEST_TIMESTAMPTZ_MS = Date.UTC(-4713, 10, 24) + 86_400_000

/**
 * Checks one message and serialises it. Throws a typed error naming the field
 * and saying what to do; runs no SQL, so a rejected message leaves the
 * caller's transaction untouched.
 */
export function validateMessage(input: unknown, at: string, maxPayloadBytes: number, spans?: CreateSpans): ValidatedMessage {
  try {
    return checkMessage(input, at, maxPayloadBytes, spans)
  } catch (error) {
    if (error instanceof TxboxError) throw error
    // A getter or a proxy of the caller's that threw while being read.
    throw new InvalidMessageError(at, `${at}: reading the message threw (${(error as Error)?.message ?? String(error)}): pass plain data, an object without throwing getters or proxies.`, {
      cause: error,
    })
  }
}

function checkMessage(input: unknown, at: string, maxPayloadBytes: number, spans: CreateSpans | undefined): ValidatedMessage {
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
  checkName(m.topic, `${at}.topic`)

  let key: string | null = null
  if (m.key !== undefined && m.key !== null) {
    if (typeof m.key !== 'string' || m.key === '') {
      throw new InvalidMessageError(`${at}.key`, `${at}.key must be a non-empty string (such as \`user:\${id}\`), or null/omitted for unordered messages; got ${describe(m.key)}.`)
    }
    checkName(m.key, `${at}.key`)
    key = m.key
  }

  let messageId: string
  if (m.messageId === undefined || m.messageId === null) {
    messageId = newMessageId()
  } else {
    if (typeof m.messageId !== 'string' || m.messageId.trim() === '') {
      throw new InvalidMessageError(`${at}.messageId`, `${at}.messageId must be a non-empty string of at most ${MAX_NAME_BYTES} bytes in UTF-8 (or omitted for a generated UUIDv7); got ${describe(m.messageId)}.`)
    }
    checkName(m.messageId, `${at}.messageId`)
    messageId = m.messageId
  }

  if (!('payload' in m)) {
    throw new InvalidMessageError(`${at}.payload`, `${at}.payload is missing: give the message's data (use null for none).`)
  }
  if (m.payload === undefined) {
    // Not serializeJson's advice for an undefined value ("use null, or leave the
    // property out"): a message without its payload property is refused too.
    throw new PayloadNotJsonError('$', `${at}.payload is undefined, which JSON cannot represent: pass null for a message without data, or the data itself.`)
  }
  const payload = serializeJson(m.payload, `${at}.payload`)
  const bytes = Buffer.byteLength(payload)
  if (bytes > maxPayloadBytes) throw new PayloadTooLargeError(`${at}.payload`, bytes, maxPayloadBytes)

  const given = m.headers
  const headers = validateHeaders(given, `${at}.headers`, spans?.start(m.topic, messageId, given))

  let delayMs: number | null = null
  let availableAt: Date | null = null
  if (m.delay !== undefined && m.availableAt !== undefined) {
    throw new InvalidMessageError(`${at}.delay`, `${at} has both delay and availableAt: give one of them.`)
  }
  if (m.delay !== undefined) {
    if (typeof m.delay !== 'number' || !Number.isFinite(m.delay) || m.delay < 0) {
      throw new InvalidMessageError(`${at}.delay`, `${at}.delay must be a finite number of milliseconds ≥ 0, got ${describe(m.delay)}.`)
    }
    if (m.delay > LATEST_DATE_MS - Date.now()) {
      throw new InvalidMessageError(
        `${at}.delay`,
        `${at}.delay is ${m.delay} ms, which ends after the latest time a JavaScript Date holds (year 275760): give a delay below ${LATEST_DATE_MS - Date.now()} ms, or enqueue the message later instead.`,
      )
    }
    if (m.delay > 0) delayMs = m.delay
  }
  if (m.availableAt !== undefined) {
    if (!(m.availableAt instanceof Date) || Number.isNaN(m.availableAt.getTime())) {
      throw new InvalidMessageError(`${at}.availableAt`, `${at}.availableAt must be a valid Date, got ${describe(m.availableAt)}.`)
    }
    if (m.availableAt.getTime() < EARLIEST_TIMESTAMPTZ_MS) {
      throw new InvalidMessageError(
        `${at}.availableAt`,
        `${at}.availableAt is before 4714-11-24 BC, the earliest time PostgreSQL's timestamptz holds (it is ${m.availableAt.toISOString()}). A time in the past means "publish now": omit availableAt instead.`,
      )
    }
    availableAt = m.availableAt
  }

  const headerBytes = headers === null ? 0 : Buffer.byteLength(headers)
  return { messageId, topic: m.topic, key, payload, headers, delayMs, availableAt, bytes: bytes + headerBytes }
}

/**
 * A topic, key, message id or header name: storable by PostgreSQL, and at most
 * {@link MAX_NAME_BYTES} bytes of UTF-8. `field` names it in the error,
 * `where` says where it is in the message.
 */
function checkName(value: string, field: string, where = field): void {
  const problem = unstorableText(value)
  if (problem) throw new InvalidMessageError(field, `${where} ${problem}.`)
  // UTF-8 takes at most 3 bytes per UTF-16 unit (4 for a pair of 2), so a
  // string of 85 units or fewer needs no count.
  if (value.length <= MAX_NAME_BYTES / 3) return
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes > MAX_NAME_BYTES) {
    throw new InvalidMessageError(
      field,
      `${where} is ${bytes} bytes in UTF-8 (${value.length} UTF-16 units); the limit is ${MAX_NAME_BYTES} bytes, what an AMQP short string holds (a character outside ASCII takes 2 to 4 bytes). Shorten it.`,
    )
  }
}

/** The headers as JSON text, with the trace context of the message's creation (see CreateSpans) under the caller's own. */
function validateHeaders(headers: unknown, at: string, trace: Readonly<Record<string, string>> = {}): string | null {
  if (headers === undefined || headers === null) {
    return Object.keys(trace).length > 0 ? JSON.stringify(trace) : null
  }
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new InvalidMessageError(at, `${at} must be an object of string values, such as { 'x-tenant': 'acme' }; got ${describe(headers)}.`)
  }
  if (headers instanceof Map) {
    throw new InvalidMessageError(at, `${at} is a Map, whose entries an object spread (and JSON) would silently drop: pass a plain object, Object.fromEntries(map).`)
  }
  // The caller's own headers win over the captured trace context.
  const merged: Record<string, unknown> = { ...trace, ...(headers as Record<string, unknown>) }
  for (const [name, value] of Object.entries(merged)) {
    const where = `${at}[${describe(name)}]`
    if (name === '') throw new InvalidMessageError(where, `${at}: a header name is empty: give each header a name, such as 'x-tenant'.`)
    checkName(name, where, `${at}: the header name ${describe(name)}`)
    if (typeof value !== 'string') {
      throw new InvalidMessageError(where, `${where} must be a string, got ${describe(value)}. Convert it with String(value), or put structured data in the payload.`)
    }
    const problem = unstorableText(value)
    if (problem) throw new InvalidMessageError(where, `${where} ${problem}.`)
    if (name.startsWith('txbox-')) {
      throw new InvalidMessageError(where, `${where}: header names starting with "txbox-" are reserved for txbox.`)
    }
  }
  // Every name and value is a storable string by now: plain JSON.stringify is exact.
  return JSON.stringify(merged)
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
