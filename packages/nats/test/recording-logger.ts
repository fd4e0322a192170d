import type { Logger } from '@txbox/core'

/** A logger that keeps what it was told, for tests that check what the consumer says. */
export interface RecordingLogger extends Logger {
  readonly lines: { level: string; message: string; fields: Record<string, unknown> }[]
  said(level: string, text: string | RegExp): boolean
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = []
  const record = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, message, fields })
  }
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    said: (level, text) => lines.some((l) => l.level === level && (typeof text === 'string' ? l.message.includes(text) : text.test(l.message))),
  }
}
