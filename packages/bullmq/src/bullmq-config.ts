import type { Logger, OutboxMessage, ProcessOnceOptions } from '@txbox/core'
import type { Transaction } from 'kysely'
import type { ConnectionOptions, Job, JobsOptions } from './bullmq-client.js'

/** Options of {@link bullmqPublisher}. */
export interface BullmqPublisherOptions {
  /**
   * BullMQ's own `connection` option, as you give it to a `Queue`: an ioredis
   * client (shared by every queue the publisher adds to; yours, never closed
   * by txbox) or connection options (then each queue opens, and `close()`
   * closes, a connection of its own: with many topics, prefer a client).
   */
  connection: ConnectionOptions
  /**
   * The queue each message's job is added to: a fixed name, or a function of
   * the message. Default: the message's topic. BullMQ refuses queue names
   * with `:`.
   */
  queue?: string | ((message: OutboxMessage) => string)
  /** The job's name: a fixed string, or a function of the message. Default: the message's topic. */
  jobName?: string | ((message: OutboxMessage) => string)
  /**
   * Job options per message (`attempts`, `backoff`, `priority`, `lifo`,
   * `removeOnComplete`, ...), merged over txbox's defaults
   * `{ removeOnComplete: { age: 3600 }, removeOnFail: { age: 604800 } }`.
   * Not `jobId` (always the message id), `parent` nor `deduplication` (they
   * would let an add return another job than the message's). Keep finished
   * jobs long enough: a job removed before a repeated publish of its message
   * lets that publish add a second job (see docs/adapters/bullmq.md,
   * "Retention and duplicates"). No `delay` is needed for delayed messages:
   * the relay publishes them when due.
   */
  jobOptions?: (message: OutboxMessage) => JobsOptions
  /** BullMQ's key prefix, as given to your `Queue`s and `Worker`s. Default `'bull'`. */
  prefix?: string
  /**
   * Where the publisher warns about Redis errors and about job options that
   * keep finished jobs too briefly for repeated publishes to be absorbed.
   * pino fits. Default: the console (warnings and errors only).
   */
  logger?: Logger
  /**
   * Add a batch's jobs in one `addBulk` per queue even when the batch holds
   * several messages of one key. Default false: the relay then sends a batch
   * in per-key waves, a key's next job only after Redis answered for its
   * previous one, which keeps per-key order when an add fails, at one round
   * trip per message of the batch's busiest key.
   *
   * The trade: BullMQ adds each job with a script of its own, and a failed
   * one does not stop the later ones, so when one of a key's adds fails
   * (Redis refusing a script, out of memory, ...), later jobs of its key in
   * the same batch may already be waiting: they are added before the failed
   * one's retry. Later batches still wait behind it (`blockKeyOnFailure`).
   * The publisher declares `stopsKeyOnFailure` to the relay for this.
   */
  pipelineKeys?: boolean
}

/**
 * A job handler run by {@link withProcessOnce}: BullMQ's processor arguments,
 * plus the transaction that records the job in the inbox. Write through `trx`
 * for those writes to commit together with that record.
 */
export type ProcessOnceJobHandler<DB, T = any, R = any> = (
  job: Job<T, R>,
  trx: Transaction<DB>,
  context: { readonly token: string | undefined; readonly signal: AbortSignal | undefined },
) => Promise<R>

/** Options of {@link withProcessOnce}: those of `processOnce`, and which id to record. */
export interface WithProcessOnceOptions<T = any, R = any> extends ProcessOnceOptions {
  /**
   * The stable id of a job's message. Default: the job id, which is the txbox
   * message id for every job {@link bullmqPublisher} added. A job whose id
   * BullMQ numbered itself (added by `queue.add` without `jobId`) is refused:
   * those numbers restart when a queue is obliterated, so a new job would be
   * skipped as a duplicate of an old one. Give such jobs an id of your own.
   */
  messageId?: (job: Job<T, R>) => string
}
