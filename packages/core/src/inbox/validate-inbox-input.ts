import { type OptionDeclaration, Rejection } from '../options/option-declaration.js'
import { callback, text } from '../options/option-kinds.js'
import { TABLE_OPTIONS } from '../schema/table-names.js'
import { TRANSACTION_OPTIONS } from '../transaction/transaction-options.js'

/** Longest consumer name, in UTF-8 bytes: it shares the inbox index row with the message id. */
const MAX_CONSUMER_BYTES = 1024

/** Who is processing: a string up to 1 KiB (empty means the single default consumer). */
const CONSUMER: OptionDeclaration<string | undefined> = {
  type: 'string',
  description: 'Who is processing: each consumer processes a message once (two services reading one topic use two names).',
  defaultText: "'' (one consumer)",
  accept: (value) =>
    typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= MAX_CONSUMER_BYTES && !value.includes('\0')
      ? value
      : new Rejection(`a string naming the consuming service in at most ${MAX_CONSUMER_BYTES} bytes, without NUL characters, e.g. 'billing'`),
}

/** The options of processOnce. */
export const PROCESS_ONCE_OPTIONS = {
  consumer: CONSUMER,
  isolationLevel: TRANSACTION_OPTIONS.isolationLevel,
  onHookError: TRANSACTION_OPTIONS.onHookError,
  ...TABLE_OPTIONS,
} as const

/** processOnce's `messageId` argument. */
export const MESSAGE_ID_ARGUMENT = text({
  required: true,
  expected: "a non-empty string (the message's stable id, e.g. the messageId field txbox publishes)",
  description: "The message's stable id.",
})

/** processOnce's `handler` argument. */
export const HANDLER_ARGUMENT = callback<(trx: any) => Promise<unknown>>()({
  required: true,
  expected: 'an async function receiving the transaction',
  description: "The consumer's work, run in the inbox transaction.",
})

/** The options of pruneInbox. */
export const PRUNE_INBOX_OPTIONS = {
  olderThan: {
    type: 'number | Date',
    required: true,
    description: 'Removes records processed before this: an age in ms, or a point in time.',
    accept: (value: unknown) =>
      (value instanceof Date && !Number.isNaN(value.getTime())) || (typeof value === 'number' && Number.isFinite(value) && value >= 0)
        ? (value as number | Date)
        : new Rejection('an age in ms (a number ≥ 0, e.g. 7 * 24 * 3600_000) or a valid Date'),
  } satisfies OptionDeclaration<number | Date>,
  consumer: { ...CONSUMER, description: "Only this consumer's records.", defaultText: "every consumer's" },
  ...TABLE_OPTIONS,
} as const
