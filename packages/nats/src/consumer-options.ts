import { consoleLogger, InvalidOptionError, type Logger } from '@txbox/core'
import { integer, natsConnection, nonEmptyString, rejectUnknownOptions } from './check-options.js'
import type { ConsumeNatsOptions, NatsHandler } from './nats-config.js'
import type { NatsMessage } from './nats-message.js'
import { subjectProblem } from './nats-subject.js'
import type { NatsConnectionLike } from './nats-types.js'

const WHERE = 'consumeNats'
const OPTION_NAMES = [
  'connection',
  'stream',
  'durable',
  'filterSubject',
  'handler',
  'count',
  'fetchWaitMs',
  'ackWaitMs',
  'handlerTimeoutMs',
  'retryDelayMs',
  'maxDeliveries',
  'deadLetterSubject',
  'wrap',
  'logger',
]

/** The options of {@link consumeNats}, checked once, defaults filled in. */
export interface ResolvedConsumerOptions<T> {
  readonly connection: NatsConnectionLike
  readonly stream: string
  readonly durable: string
  readonly filterSubject: string | undefined
  readonly handler: NatsHandler<T>
  readonly count: number
  readonly fetchWaitMs: number
  readonly ackWaitMs: number
  readonly handlerTimeoutMs: number
  readonly retryDelayMs: number
  readonly maxDeliveries: number
  readonly deadLetterSubject: string
  readonly wrap: ((message: NatsMessage<T>, run: () => Promise<void>) => Promise<unknown>) | undefined
  readonly logger: Logger
}

/** Stream and consumer names: JetStream refuses these characters in them (they become subject tokens of its API). */
const NAME_PROBLEM = /[\s.*>/\\]/

export function resolveConsumerOptions<T>(options: ConsumeNatsOptions<T>): ResolvedConsumerOptions<T> {
  rejectUnknownOptions(WHERE, options, OPTION_NAMES)
  const connection = natsConnection(WHERE, options.connection)
  if (typeof options.handler !== 'function') {
    throw new InvalidOptionError('handler', `${WHERE}: handler must be a function (message) => Promise<void>.`)
  }
  if (options.wrap !== undefined && typeof options.wrap !== 'function') {
    throw new InvalidOptionError('wrap', `${WHERE}: wrap must be a function (message, run) => Promise<void>, e.g. (m, run) => processOnce(db, m.messageId, run).`)
  }
  const stream = name('stream', options.stream)
  const durable = name('durable', options.durable)
  const filterSubject = options.filterSubject === undefined ? undefined : nonEmptyString(WHERE, 'filterSubject', options.filterSubject)
  if (filterSubject !== undefined && /[\s]/.test(filterSubject)) {
    throw new InvalidOptionError('filterSubject', `${WHERE}: filterSubject "${filterSubject}" contains whitespace; NATS subjects cannot.`)
  }
  const deadLetterSubject =
    options.deadLetterSubject === undefined ? `txbox.dead.${stream}.${durable}` : nonEmptyString(WHERE, 'deadLetterSubject', options.deadLetterSubject)
  const problem = subjectProblem(deadLetterSubject)
  if (problem) throw new InvalidOptionError('deadLetterSubject', `${WHERE}: deadLetterSubject "${deadLetterSubject}" cannot be published to: ${problem}.`)
  if (options.logger !== undefined && (options.logger === null || typeof options.logger.warn !== 'function' || typeof options.logger.error !== 'function')) {
    throw new InvalidOptionError('logger', `${WHERE}: logger must have debug, info, warn and error methods (pino fits).`)
  }
  return {
    connection,
    stream,
    durable,
    filterSubject,
    handler: options.handler,
    count: integer(WHERE, 'count', options.count, 10, 1, 10_000),
    // nats.js refuses pull requests that expire sooner.
    fetchWaitMs: integer(WHERE, 'fetchWaitMs', options.fetchWaitMs, 2000, 1000),
    ackWaitMs: integer(WHERE, 'ackWaitMs', options.ackWaitMs, 30_000, 300),
    handlerTimeoutMs: integer(WHERE, 'handlerTimeoutMs', options.handlerTimeoutMs, 30_000, 1),
    retryDelayMs: integer(WHERE, 'retryDelayMs', options.retryDelayMs, 1000, 0),
    maxDeliveries: integer(WHERE, 'maxDeliveries', options.maxDeliveries, 5, 1, 1_000_000),
    deadLetterSubject,
    wrap: options.wrap,
    // Warnings and errors (a failed handler, a dead letter, a NATS error) must not go unseen.
    logger: options.logger ?? consoleLogger,
  }
}

function name(option: string, value: unknown): string {
  const text = nonEmptyString(WHERE, option, value)
  if (NAME_PROBLEM.test(text)) {
    throw new InvalidOptionError(option, `${WHERE}: ${option} "${text}" is not a JetStream name: no whitespace, dots, *, >, / or \\.`)
  }
  return text
}
