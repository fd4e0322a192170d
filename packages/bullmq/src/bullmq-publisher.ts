import type { OutboxMessage, Publisher, PublishResult } from '@txbox/core'
import { ABORTED, resolveOptions, untilAborted } from '@txbox/core/adapter'
import type { JobsOptions, Queue } from './bullmq-client.js'
import type { BullmqPublisherOptions } from './bullmq-config.js'
import { type BullmqPublishFailure, BullmqPublishError } from './errors/bullmq-publish-error.js'
import { BullmqJobIdError } from './errors/bullmq-job-id-error.js'
import { CheckedJob } from './job-check.js'
import { buildJobOptions, jobIdProblem, shortRetention } from './bullmq-message.js'
import { PUBLISHER_OPTIONS } from './bullmq-options.js'
import { QueuePool } from './queue-pool.js'
import { isTransportError } from './transport-error.js'

const WHERE = 'bullmqPublisher'

type NameOf = (message: OutboxMessage) => string

/** One message's job, ready for `addBulk`. */
interface PendingJob {
  readonly index: number
  readonly messageId: string
  readonly job: { readonly name: string; readonly data: unknown; readonly opts: JobsOptions }
}

/**
 * A {@link Publisher} that adds each outbox message as a BullMQ job. Give it
 * to the relay:
 *
 * ```ts
 * const relay = createRelay({ db, publisher: bullmqPublisher({ connection: redis }) })
 * ```
 *
 * The job goes to the queue named by the topic (option `queue`), its name is
 * the topic (option `jobName`), its data the payload, and its id the message
 * id: a publish repeated after a relay crash finds the job and adds nothing,
 * as long as the job is kept (one hour after it completed, a week after it
 * failed, unless `jobOptions` says otherwise).
 *
 * A batch goes out as one `addBulk` per queue, all sent at once (one round
 * trip). A message counts as published once BullMQ returned its job; when an
 * `addBulk` fails, the publisher asks Redis which of its jobs exist, so each
 * message gets its own outcome. A message id BullMQ cannot take as a job id
 * (an integer, or one with `:`) is refused as permanent. Redis not reachable
 * is a transport failure (the relay spends no attempt).
 *
 * `stopsKeyOnFailure` is false: BullMQ sends one script per job in a
 * pipeline, and a failed job does not stop the later ones, so the relay sends
 * at most one message per key per call (its per-key waves). With
 * `pipelineKeys` it is true, deliberately, and each batch goes in one call:
 * see that option for what it trades.
 *
 * `close()` closes the `Queue` objects it made; a client you passed as
 * `connection` stays open.
 */
export function bullmqPublisher(options: BullmqPublisherOptions): Publisher {
  const { connection, jobOptions, prefix, logger, pipelineKeys, ...names } = resolveOptions(WHERE, PUBLISHER_OPTIONS, options)
  const queueOf = nameResolver(names.queue)
  const jobNameOf = nameResolver(names.jobName)
  const pool = new QueuePool(connection, prefix, logger)
  let warnedRetention = false
  let closed = false

  /** Builds and checks one message's job; the failed result instead when it cannot be sent. */
  function prepare(message: OutboxMessage, index: number): { queue: Queue; queueName: string; pending: PendingJob } | PublishResult {
    const idProblem = jobIdProblem(message.messageId)
    if (idProblem !== undefined) return { ok: false, error: new BullmqJobIdError(message.messageId, idProblem), permanent: true }
    const fail = (queueName: string | undefined, reason: string, cause?: unknown): PublishResult => ({
      ok: false,
      error: new BullmqPublishError('job-options', message.messageId, queueName, reason, { cause }),
    })
    const queueName = callName(queueOf, message, 'queue')
    if (queueName instanceof Error) return fail(undefined, queueName.message, queueName.cause)
    const name = callName(jobNameOf, message, 'jobName')
    if (name instanceof Error) return fail(queueName, name.message, name.cause)
    const opts = buildJobOptions(message, jobOptions)
    if (opts instanceof Error) return fail(queueName, opts.message, opts.cause)
    if (!warnedRetention) {
      const problem = shortRetention(opts)
      if (problem !== undefined) {
        warnedRetention = true
        logger.warn(
          { queue: queueName, messageId: message.messageId },
          `txbox bullmq publisher: ${problem}; a publish the relay repeats after that (a crash, a timeout) adds a second job. Keep finished jobs for longer than your relay's publishTimeout + 30 s + backoff.maxDelay (see docs/adapters/bullmq.md)`,
        )
      }
    }
    let data: unknown
    try {
      data = JSON.parse(message.payload)
    } catch (error) {
      return { ok: false, error: new BullmqPublishError('unpublishable', message.messageId, queueName, 'its payload is not JSON text', { cause: error }), permanent: true }
    }
    let queue: Queue
    try {
      queue = pool.get(queueName)
    } catch (error) {
      return fail(queueName, `BullMQ refused the queue name (${(error as Error)?.message ?? String(error)})`, error)
    }
    const problem = CheckedJob.problem(queue, name, data, opts)
    if (problem) return fail(queueName, `BullMQ refused the job options (${problem.message})`, problem)
    return { queue, queueName, pending: { index, messageId: message.messageId, job: { name, data, opts } } }
  }

  return {
    stopsKeyOnFailure: pipelineKeys,
    messagingSystem: 'bullmq',

    async publish(messages, { signal }) {
      const results: PublishResult[] = new Array(messages.length)
      const batches = new Map<string, { queue: Queue; jobs: PendingJob[] }>()
      messages.forEach((message, index) => {
        const prepared = prepare(message, index)
        if ('ok' in prepared) {
          results[index] = prepared
          return
        }
        const batch = batches.get(prepared.queueName)
        if (batch) batch.jobs.push(prepared.pending)
        else batches.set(prepared.queueName, { queue: prepared.queue, jobs: [prepared.pending] })
      })

      const failAll = (queueName: string, jobs: readonly PendingJob[], why: BullmqPublishFailure, reason: string, cause: unknown, transport: boolean) => {
        for (const { index, messageId } of jobs) {
          results[index] = { ok: false, error: new BullmqPublishError(why, messageId, queueName, reason, { cause }), transport }
        }
      }
      if (closed || signal.aborted) {
        for (const [queueName, { jobs }] of batches) {
          failAll(queueName, jobs, closed ? 'closed' : 'aborted', closed ? 'the publisher is closed' : 'the publish was aborted before it was sent', signal.reason, true)
        }
        return results
      }

      // Every queue's addBulk is sent before any reply is awaited: on a shared
      // client they leave as one stream of commands, one round trip in all.
      await Promise.all(
        [...batches].map(async ([queueName, { queue, jobs }]) => {
          let added: { id?: string | undefined }[]
          try {
            added = await untilAborted(
              queue.addBulk(jobs.map((p) => p.job)),
              signal,
            )
          } catch (error) {
            if (error === ABORTED) {
              failAll(queueName, jobs, 'aborted', 'the publish was aborted before Redis confirmed it', signal.reason, true)
              return
            }
            await settleFailedBulk(queueName, queue, jobs, error)
            return
          }
          pool.succeeded()
          jobs.forEach((p, i) => {
            const id = added[i]?.id
            results[p.index] =
              id === p.messageId ? { ok: true } : { ok: false, error: new BullmqPublishError('unconfirmed', p.messageId, queueName, `BullMQ answered with job id ${JSON.stringify(id)} instead of the message id`) }
          })
        }),
      )
      return results

      /**
       * `addBulk` sends one script per job and rejects with the first error,
       * after every script ran: some jobs may be in Redis. Asks Redis which
       * exist (one more round trip, on this failure path only): those are
       * published; the others failed with the error.
       */
      async function settleFailedBulk(queueName: string, queue: Queue, jobs: readonly PendingJob[], error: unknown): Promise<void> {
        const transport = isTransportError(error)
        if (transport && (error as Error).name !== 'ReplyError') pool.evict(queueName)
        const reason = `the add failed (${(error as Error)?.message ?? String(error)})`
        let states: string[]
        try {
          states = await untilAborted(Promise.all(jobs.map((p) => queue.getJobState(p.messageId))), signal)
        } catch {
          failAll(queueName, jobs, transport ? 'unavailable' : 'refused', reason, error, transport)
          return
        }
        jobs.forEach((p, i) => {
          results[p.index] = states[i] === 'unknown' ? { ok: false, error: new BullmqPublishError(transport ? 'unavailable' : 'refused', p.messageId, queueName, reason, { cause: error }), transport } : { ok: true }
        })
      }
    },

    async close() {
      closed = true
      await pool.closeAll()
    },
  }
}

function nameResolver(resolved: string | NameOf | undefined): NameOf {
  if (resolved === undefined) return (m) => m.topic
  if (typeof resolved === 'function') return resolved
  return () => resolved
}

/** The queue or job name for `message`, or the Error that fails this message alone (a throwing or bad function). */
function callName(nameOf: NameOf, message: OutboxMessage, option: 'queue' | 'jobName'): string | Error {
  let name: unknown
  try {
    name = nameOf(message)
  } catch (error) {
    return new Error(`the ${option} function threw (${(error as Error)?.message ?? String(error)})`, { cause: error })
  }
  if (typeof name !== 'string' || name.length === 0) {
    return new Error(`the ${option} function returned ${JSON.stringify(name) ?? String(name)}; it must return a non-empty string`)
  }
  return name
}

