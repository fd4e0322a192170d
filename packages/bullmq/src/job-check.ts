import { Job, type JobsOptions, type Queue } from 'bullmq'

/**
 * Runs BullMQ's own checks of one job (`Job.validateOptions`: priority,
 * exclusive options, size limit, ...) before the batch is sent. `addBulk`
 * runs the same checks for all its jobs before sending any, and one job that
 * fails them throws for the whole call: checking each job first keeps a bad
 * job from failing its neighbours. Returns the error, or `undefined`.
 */
export class CheckedJob extends Job {
  static problem(queue: Queue, name: string, data: unknown, options: JobsOptions): Error | undefined {
    try {
      const job = new CheckedJob(queue, name, data, options, options.jobId)
      job.validateOptions(job.asJSON())
      return undefined
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error))
    }
  }
}
