import { consoleLogger, LOGGER_OPTION, type Logger } from '../logger.js'
import type { OptionDeclaration } from '../options/option-declaration.js'
import { adapt, callback } from '../options/option-kinds.js'

// The consumer options that mean the same in every adapter, declared once so
// that their checks, defaults and docs rows cannot drift apart. Each adapter
// declares what is its broker's (stream, queue, durable, ...) beside them.

/** A consumer's `wrap` option, for messages of type `M`: runs around each handler call (e.g. `processOnce`). */
export function wrapOption<M>(): OptionDeclaration<((message: M, run: () => Promise<void>) => Promise<unknown>) | undefined> {
  return callback<(message: M, run: () => Promise<void>) => Promise<unknown>>()({
    expected: 'a function (message, run) => Promise<void>, e.g. (m, run) => processOnce(db, m.messageId, run)',
    defaultText: 'none',
    description: 'Runs around each handler call, e.g. to skip duplicates with the inbox.',
  })
}

/** A consumer's `logger` option: warnings and errors (a failed handler, a dead letter, a broker error) must not go unseen, so the console by default. */
export const CONSUMER_LOGGER_OPTION: OptionDeclaration<Logger> = adapt(LOGGER_OPTION, {
  default: consoleLogger,
  defaultText: 'consoleLogger (warnings and errors to the console)',
})
