import type { TransactionOptions } from '../transaction/transaction-options.js'
import type { TableOptions } from '../schema/table-names.js'

/** Options of {@link processOnce}. */
export interface ProcessOnceOptions extends TableOptions, Pick<TransactionOptions, 'isolationLevel' | 'onHookError'> {
  /**
   * Who is processing. Each consumer processes a message once: two services
   * reading the same topic use two names. Default `''` (one consumer).
   */
  consumer?: string
}

/** What {@link processOnce} did. */
export type ProcessOnceResult<T> =
  /** The handler ran and its transaction, with the inbox record, committed. */
  | { readonly status: 'processed'; readonly result: T }
  /** The message was already recorded for this consumer: the handler did not run. */
  | { readonly status: 'duplicate' }

/** Options of {@link pruneInbox}. */
export interface PruneInboxOptions extends TableOptions {
  /**
   * Removes records processed before this: an age in ms (`7 * 24 * 3600_000`)
   * or a point in time. Keep records for longer than a broker may redeliver a
   * message, or a late duplicate is processed again.
   */
  olderThan: number | Date
  /** Only this consumer's records. Default: every consumer's. */
  consumer?: string
}
