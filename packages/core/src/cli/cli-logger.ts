import type { Logger } from '../logger.js'
import { redact } from './redact.js'

/** How the relay's log lines look: for a person reading a terminal, or one JSON object per line. */
export type LogFormat = 'pretty' | 'json'
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json']
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/**
 * A {@link Logger} writing to a stream (stderr by default, so that stdout
 * stays clean for data). `json` lines carry `time`, `level`, `msg` and the
 * fields, pino-style; an error in `err` becomes `{ type, message, code }`.
 */
export function createCliLogger(
  format: LogFormat,
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const log = (at: LogLevel) => (fields: Record<string, unknown>, message: string) => {
    if (RANK[at] < RANK[level]) return
    const line = format === 'json' ? jsonLine(at, fields, message) : prettyLine(at, fields, message)
    write(`${redact(line)}\n`)
  }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

function jsonLine(level: LogLevel, fields: Record<string, unknown>, message: string): string {
  const out: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message }
  for (const [name, value] of Object.entries(fields)) out[name] = value instanceof Error ? serializeError(value) : value
  return JSON.stringify(out)
}

function prettyLine(level: LogLevel, fields: Record<string, unknown>, message: string): string {
  const time = new Date().toISOString().slice(11, 23)
  const parts = [`${time} ${level.toUpperCase().padEnd(5)} ${message}`]
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue
    parts.push(`${name}=${prettyValue(value)}`)
  }
  return parts.join(' ')
}

function prettyValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message || value.name)
  if (typeof value === 'string') return /^[\w.:/@-]+$/.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'object' && value !== null) return JSON.stringify(value)
  return String(value)
}

function serializeError(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.name, message: error.message }
  const code = (error as { code?: unknown }).code
  if (code !== undefined) out.code = code
  return out
}
