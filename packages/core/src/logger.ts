import { hasMethods, shape } from './options/option-kinds.js'

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

/** Says nothing. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }

/**
 * The default where no `logger` is given: warnings and errors go to the
 * console (a broker outage, a failing message, a lost connection must not go
 * unseen), debug and info are silent. Pass your own logger (pino fits) to
 * route them elsewhere, or {@link silentLogger} to silence them.
 */
export const consoleLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (fields, message) => console.warn(message, fields),
  error: (fields, message) => console.error(message, fields),
}

/** The `logger` option of the relay and the consumer helpers (add your own default). */
export const LOGGER_OPTION = shape<Logger>()({
  type: 'Logger',
  description: 'Where txbox logs; pino fits.',
  expected: 'a logger with debug, info, warn and error methods (pino fits)',
  test: (value) => hasMethods(value, 'debug', 'info', 'warn', 'error'),
})
