/**
 * A logger txbox writes to. pino fits as it is (`logger: pino()`), and so does
 * any logger with these four methods taking an object and a message.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

const noop = () => {}

/** The default: says nothing. The relay's events carry everything a caller needs. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }
