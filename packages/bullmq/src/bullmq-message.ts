import type { OutboxMessage } from '@txbox/core'
import type { JobsOptions } from './bullmq-client.js'

// The wire format: a message becomes a BullMQ job whose id is the message id
// (a repeated add finds the job and adds none), whose name is the topic (or
// `jobName`), whose data is the parsed payload, and whose options carry the
// W3C trace context for BullMQ's telemetry. Workers read jobs as BullMQ gives
// them; txbox adds no decoder.

/**
 * How long finished jobs stay in Redis unless `jobOptions` says otherwise.
 * While a job is kept, a repeated publish of its message (a relay killed
 * between the add and its outbox commit, a publish that outlived
 * `publishTimeout`) finds it and adds nothing. The relay repeats a publish
 * within publishTimeout + 30 s + its backoff (about 6 minutes with the
 * defaults), so an hour of completed jobs absorbs every repeat with a wide
 * margin while bounding Redis memory; failed jobs are kept a week, as
 * people look at them. `age` is in seconds; BullMQ removes expired jobs when
 * later jobs finish.
 */
export const DEFAULT_RETENTION = Object.freeze({
  removeOnComplete: Object.freeze({ age: 3600 }),
  removeOnFail: Object.freeze({ age: 7 * 24 * 3600 }),
})

/** Below this, a kept-by-age job may be gone before the relay repeats its publish. */
const SAFE_RETENTION_SECONDS = 600

/** Options the publisher owns: letting `jobOptions` set them would break "one job per message". */
const OWNED_OPTIONS = ['jobId', 'parent', 'deduplication', 'debounce', 'repeat'] as const

/**
 * The options of one message's job: txbox's retention defaults, then what
 * `jobOptions` returned, then the job id (the message id) and, when the
 * message carries W3C trace context, BullMQ's telemetry metadata, unless
 * `jobOptions` set its own. Returns an Error (the message fails alone) when
 * `jobOptions` threw or returned an option the publisher owns.
 */
export function buildJobOptions(message: OutboxMessage, jobOptions: ((message: OutboxMessage) => JobsOptions) | undefined): JobsOptions | Error {
  let own: JobsOptions | undefined
  if (jobOptions) {
    try {
      own = jobOptions(message)
    } catch (error) {
      return new Error(`the jobOptions function threw (${(error as Error)?.message ?? String(error)})`, { cause: error })
    }
    if (own === null || typeof own !== 'object') return new Error(`the jobOptions function returned ${String(own)}; it must return an object of BullMQ job options`)
    const owned = OWNED_OPTIONS.filter((name) => (own as Record<string, unknown>)[name] !== undefined)
    if (owned.length > 0) {
      return new Error(`the jobOptions function returned ${owned.join(', ')}, which the publisher owns: the job id is always the message id, and a parent or deduplication option could make the add return another job than the message's`)
    }
  }
  const options: JobsOptions = { ...DEFAULT_RETENTION, ...own, jobId: message.messageId }
  const traceparent = message.headers.traceparent
  if (traceparent !== undefined && options.telemetry === undefined) {
    // The shape BullMQ's own producers store with bullmq-otel (a propagation
    // carrier), so a Worker with `telemetry` continues the enqueuing trace.
    // BullMQ types the field as a string; what it stores is this object.
    const carrier: Record<string, string> = { traceparent }
    if (message.headers.tracestate !== undefined) carrier.tracestate = message.headers.tracestate
    options.telemetry = { metadata: carrier as unknown as string }
  }
  return options
}

/**
 * Why `options` may remove a finished job before a repeated publish of its
 * message comes (then that publish adds a second job), or `undefined`.
 */
export function shortRetention(options: JobsOptions): string | undefined {
  for (const name of ['removeOnComplete', 'removeOnFail'] as const) {
    const keep = options[name]
    if (keep === true || keep === 0) return `${name}: ${String(keep)} removes a job as soon as it finishes`
    if (typeof keep === 'number') return `${name}: ${keep} keeps a number of jobs, not a time: under load a job can be gone within seconds`
    if (keep && typeof keep === 'object') {
      if ('count' in keep && keep.count !== undefined) return `${name}: { count: ${keep.count} } keeps a number of jobs, not a time: under load a job can be gone within seconds`
      if ('age' in keep && typeof keep.age === 'number' && keep.age < SAFE_RETENTION_SECONDS) return `${name}: { age: ${keep.age} } keeps a finished job under ${SAFE_RETENTION_SECONDS} s`
    }
  }
  return undefined
}

/**
 * Why BullMQ would refuse `id` as a custom job id, or `undefined` when it
 * takes it. Checked per message, before anything is sent.
 *
 * BullMQ 6 (`Job.validateOptions`) throws on an id that `parseInt` reads back
 * unchanged ("Custom Id cannot be integers": integer ids are the ones its
 * counter hands out, so a custom one could collide with them) and on an id
 * with `:` unless it has exactly two (kept for old repeatable jobs; its source
 * marks this for a plain "no `:`" rule in the next major). We refuse every
 * `:`: the same rule in every version, and no id that looks like a repeatable
 * job's.
 */
export function jobIdProblem(id: string): string | undefined {
  if (`${Number.parseInt(id, 10)}` === id) return 'it is an integer, and BullMQ keeps integer job ids for the ones it numbers itself'
  if (id.includes(':')) return "it contains ':', which BullMQ refuses in custom job ids (it separates the parts of its Redis keys)"
  return undefined
}
