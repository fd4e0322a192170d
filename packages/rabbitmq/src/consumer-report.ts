import type { ResolvedConsumerOptions } from './rabbitmq-options.js'
import type { RabbitmqMessage } from './rabbitmq-message.js'

/** How the consumer reports a failure: `error` the failure (or `undefined` for a plain note), `text` the log line when not the error's own message. */
export type ConsumerReport<T> = (level: 'warn' | 'error', error: unknown, message?: RabbitmqMessage<T>, text?: string) => void

/** One log line per failure, `err` the error; and the deprecated `onError`, when given. */
export function consumerReport<T>(o: ResolvedConsumerOptions<T>): ConsumerReport<T> {
  return (level, error, message, text) => {
    const fields = { err: error, queue: o.queue, ...(message ? { messageId: message.messageId, deliveries: message.deliveries } : {}) }
    o.logger[level](fields, `txbox rabbitmq consumer: ${text ?? describe(error).replace(/^consumeRabbitmq: /, '')}`)
    if (error === undefined || !o.onError) return
    try {
      o.onError(error, message)
    } catch {
      // The user's reporter failed; the message is settled all the same.
    }
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
