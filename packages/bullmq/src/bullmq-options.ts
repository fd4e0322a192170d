import { consoleLogger, type OutboxMessage } from '@txbox/core'
import { adapt, boolean, callback, LOGGER_OPTION, type OptionDeclaration, PROCESS_ONCE_OPTIONS, shape, text, textOrCallback } from '@txbox/core/adapter'
import type { ConnectionOptions, Job, JobsOptions } from './bullmq-client.js'
import type { BullmqPublisherOptions } from './bullmq-config.js'

type NameOf = (message: OutboxMessage) => string

/** The options of {@link bullmqPublisher}, declared once (checked by resolveOptions, shown in docs/api.md). */
export const PUBLISHER_OPTIONS = {
  connection: shape<ConnectionOptions>()({
    type: 'ConnectionOptions',
    required: true,
    description: "BullMQ's connection: your ioredis client (kept open by close()), or connection options.",
    expected: 'an ioredis client or BullMQ connection options ({ host, port }), as given to a BullMQ Queue',
    test: (value) => typeof value === 'object' && value !== null,
  }),
  queue: textOrCallback<NameOf>()({ signature: '(message) => string', defaultText: 'the topic', description: 'The queue each job goes to.' }),
  jobName: textOrCallback<NameOf>()({ signature: '(message) => string', defaultText: 'the topic', description: "The job's name." }),
  jobOptions: callback<(message: OutboxMessage) => JobsOptions>()({
    expected: 'a function (message) => BullMQ job options',
    defaultText: 'DEFAULT_RETENTION',
    description: 'Job options per message, over DEFAULT_RETENTION.',
  }),
  prefix: text({ defaultText: "'bull'", description: "BullMQ's key prefix, as given to your Queues and Workers." }),
  logger: adapt(LOGGER_OPTION, { default: consoleLogger, defaultText: 'consoleLogger (warnings to the console)' }),
  pipelineKeys: boolean({
    default: false,
    description: "One addBulk per queue and batch instead of per-key waves; a failed add can then be overtaken by its key's later jobs of that batch.",
  }),
} as const satisfies Record<keyof BullmqPublisherOptions, OptionDeclaration<any>>

/** The options of {@link withProcessOnce}: processOnce's, and how to find a job's message id. */
export const WITH_PROCESS_ONCE_OPTIONS = {
  messageId: callback<(job: Job) => string>()({
    expected: 'a function (job) => the stable id of its message',
    defaultText: 'the job id',
    description: "The stable id to record for a job (a job BullMQ numbered itself is refused).",
  }),
  ...PROCESS_ONCE_OPTIONS,
} as const

/** The handler argument of {@link withProcessOnce}. */
export const HANDLER = callback()({ required: true, expected: 'an async function (job, trx, { token, signal })', description: 'The job handler.' })
