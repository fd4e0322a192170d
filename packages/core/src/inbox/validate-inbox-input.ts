import { InvalidOptionError } from '../errors/invalid-option-error.js'

/** Longest consumer name, in UTF-8 bytes: it shares the inbox index row with the message id. */
const MAX_CONSUMER_BYTES = 1024

/** The consumer name, checked: a string up to 1 KiB (empty means the single default consumer). */
export function consumerName(where: string, consumer: unknown): string {
  if (consumer === undefined) return ''
  if (typeof consumer !== 'string') {
    throw new InvalidOptionError('consumer', `${where}: consumer must be a string naming the consuming service, e.g. 'billing'; got ${typeof consumer}.`)
  }
  if (Buffer.byteLength(consumer, 'utf8') > MAX_CONSUMER_BYTES || consumer.includes('\0')) {
    throw new InvalidOptionError(
      'consumer',
      `${where}: consumer must name the consuming service in at most ${MAX_CONSUMER_BYTES} bytes, without NUL characters, e.g. 'billing'; got ${consumer.length} characters.`,
    )
  }
  return consumer
}
