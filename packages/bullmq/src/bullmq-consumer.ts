import { InvalidOptionError, processOnce } from '@txbox/core'
import { checkValue, resolveOptions, withProcessSpan } from '@txbox/core/adapter'
import type { Kysely } from 'kysely'
import type { Job } from './bullmq-client.js'
import type { ProcessOnceJobHandler, WithProcessOnceOptions } from './bullmq-config.js'
import { HANDLER, WITH_PROCESS_ONCE_OPTIONS } from './bullmq-options.js'

/**
 * Wraps a job handler into a BullMQ processor that runs it at most once per
 * message: inside `processOnce`, keyed by the job id (the txbox message id of
 * every job {@link bullmqPublisher} added). The handler's writes through `trx`
 * and the inbox record commit together; a job run again (a retry after the
 * handler committed and something failed after it, a stalled job picked up by
 * another worker, a second job of the same message added after the first was
 * removed) finds the record and resolves `undefined` without running the
 * handler. A handler that throws rolls back and fails the job as usual, so
 * BullMQ's `attempts` and `backoff` apply.
 *
 * ```ts
 * new Worker('email.welcome', withProcessOnce(db, async (job, trx) => { ... }), { connection })
 * ```
 */
export function withProcessOnce<DB, T = any, R = any>(
  db: Kysely<DB>,
  handler: ProcessOnceJobHandler<DB, T, R>,
  options: WithProcessOnceOptions<T, R> = {},
): (job: Job<T, R>, token?: string, signal?: AbortSignal) => Promise<R | undefined> {
  checkValue('withProcessOnce(db, handler, options)', 'handler', HANDLER, handler)
  resolveOptions('withProcessOnce', WITH_PROCESS_ONCE_OPTIONS, options)
  // processOnce resolves its own options again, as given.
  const { messageId: messageIdOf, ...processOnceOptions } = options

  return async (job, token, signal) => {
    const messageId = messageIdOf ? messageIdOf(job) : defaultMessageId(job)
    const messaging = { system: 'bullmq', destination: job.queueName, messageId, headers: traceContextOf(job) }
    const outcome = await withProcessSpan(messaging, () => processOnce(db, messageId, (trx) => handler(job, trx, { token, signal }), processOnceOptions))
    return outcome.status === 'processed' ? outcome.result : undefined
  }
}

/**
 * The trace context bullmqPublisher stored with the job (BullMQ's telemetry
 * metadata, a propagation carrier; bullmq-otel's producers store it as JSON
 * text), or undefined.
 */
function traceContextOf(job: Job): Record<string, string> | undefined {
  let carrier: unknown = job.opts?.telemetry?.metadata
  if (typeof carrier === 'string') {
    try {
      carrier = JSON.parse(carrier)
    } catch {
      return undefined
    }
  }
  return carrier !== null && typeof carrier === 'object' ? (carrier as Record<string, string>) : undefined
}

/** The job id, unless BullMQ numbered the job itself (those numbers are not stable ids). */
function defaultMessageId(job: Job): string {
  const id = job.id
  if (id === undefined || id === '') throw new InvalidOptionError('messageId', `withProcessOnce: job "${job.name}" has no id; pass messageId: (job) => ... to name its message's stable id.`)
  if (`${Number.parseInt(id, 10)}` === id) {
    throw new InvalidOptionError(
      'messageId',
      `withProcessOnce: job ${id} ("${job.name}") was numbered by BullMQ (added without a jobId, so not by txbox); those numbers restart when a queue is obliterated, and a new job would be skipped as a duplicate of an old one. Pass withProcessOnce(db, handler, { messageId: (job) => ... }) to name its message's stable id.`,
    )
  }
  return id
}
