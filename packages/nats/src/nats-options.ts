import { InvalidOptionError, type Logger } from '@txbox/core'
import { CONSUMER_LOGGER_OPTION, callback, hasMethods, integer, MAX_TIMER_MS, type OptionDeclaration, Rejection, resolveOptions, shape, text, wrapOption } from '@txbox/core/adapter'
import type { ConsumeNatsOptions, NatsHandler } from './nats-config.js'
import type { NatsMessage } from './nats-message.js'
import { subjectProblem } from './nats-subject.js'
import type { NatsConnectionLike } from './nats-client.js'

const WHERE = 'consumeNats'

/** The `connection` option of the publisher and the consumer: a NATS connection as nats.js v3 makes it (recognised by the methods txbox calls). */
export const CONNECTION_OPTION = shape<NatsConnectionLike>()({
  type: 'NatsConnection',
  required: true,
  description: 'Your nats.js v3 connection; yours to close (the publisher and the consumer never close it).',
  expected: 'a NATS connection from nats.js v3 (`await connect({ servers })` of @nats-io/transport-node)',
  test: (value) => hasMethods(value, 'isClosed', 'request', 'getServer'),
})

/** Stream and consumer names: JetStream refuses these characters in them (they become subject tokens of its API). */
const NAME_PROBLEM = /[\s.*>/\\]/

/** A stream or consumer name JetStream takes. */
function jetStreamName(option: 'stream' | 'durable', description: string): OptionDeclaration<string> {
  const declaration = text({ required: true, description })
  return {
    ...declaration,
    accept: (value) => {
      const accepted = declaration.accept(value)
      if (typeof accepted === 'string' && NAME_PROBLEM.test(accepted)) {
        throw new InvalidOptionError(option, `${WHERE}: ${option} "${accepted}" is not a JetStream name: no whitespace, dots, *, >, / or \\.`)
      }
      return accepted
    },
  }
}

/** The options of {@link consumeNats}, declared once (checked by resolveOptions, shown in docs/api.md). */
export const CONSUMER_OPTIONS = {
  connection: CONNECTION_OPTION,
  stream: jetStreamName('stream', 'The JetStream stream to read; it must exist.'),
  durable: jetStreamName('durable', 'The durable pull consumer, created if missing; its position survives restarts.'),
  filterSubject: {
    ...text({ defaultText: 'every subject', description: 'Only messages whose subject matches this filter (wildcards allowed).' }),
    accept: (value: unknown) => (typeof value === 'string' && value !== '' && !/\s/.test(value) ? value : new Rejection('a NATS subject filter without whitespace')),
  } satisfies OptionDeclaration<string | undefined>,
  handler: callback<NatsHandler<any>>()({
    required: true,
    expected: 'a function (message) => Promise<void>',
    description: 'Called once per message, one message at a time, in stream order.',
  }),
  count: integer({ min: 1, max: 10_000, default: 10, description: 'Most messages pulled per request.' }),
  // nats.js refuses pull requests that expire sooner.
  fetchWaitMs: integer({ min: 1000, max: MAX_TIMER_MS, unit: 'ms', default: 2000, description: 'How long one pull request waits for messages (at least 1000, the nats.js minimum).' }),
  ackWaitMs: integer({ min: 300, max: MAX_TIMER_MS, unit: 'ms', default: 30_000, description: "JetStream's ack wait: a message not acknowledged for that long is delivered again." }),
  handlerTimeoutMs: integer({ min: 1, max: MAX_TIMER_MS, unit: 'ms', default: 30_000, description: 'How long one handler call (with wrap) may take before its signal aborts.' }),
  retryDelayMs: integer({ min: 0, max: MAX_TIMER_MS, unit: 'ms', default: 1000, description: 'How long JetStream waits before delivering a failed message again (a delayed nak).' }),
  maxDeliveries: integer({ min: 1, max: 1_000_000, default: 5, description: 'Deliveries after which a failing message is published to deadLetterSubject and terminated.' }),
  deadLetterSubject: {
    ...text({ defaultText: 'txbox.dead.<stream>.<durable>', description: 'Where messages that keep failing (or cannot be decoded) are published.' }),
    accept: (value: unknown) => {
      if (typeof value !== 'string' || value === '') return new Rejection('a non-empty string')
      const problem = subjectProblem(value)
      return problem ? new Rejection(`a subject NATS can publish to (${problem})`) : value
    },
  } satisfies OptionDeclaration<string | undefined>,
  wrap: wrapOption<NatsMessage<any>>(),
  logger: CONSUMER_LOGGER_OPTION,
} as const satisfies Record<keyof ConsumeNatsOptions, OptionDeclaration<any>>

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

export function resolveConsumerOptions<T>(options: ConsumeNatsOptions<T>): ResolvedConsumerOptions<T> {
  const resolved = resolveOptions(WHERE, CONSUMER_OPTIONS, options)
  const deadLetterSubject = resolved.deadLetterSubject ?? `txbox.dead.${resolved.stream}.${resolved.durable}`
  const problem = subjectProblem(deadLetterSubject)
  if (problem) throw new InvalidOptionError('deadLetterSubject', `${WHERE}: deadLetterSubject "${deadLetterSubject}" cannot be published to: ${problem}.`)
  return {
    ...resolved,
    handler: resolved.handler as NatsHandler<T>,
    wrap: resolved.wrap as ResolvedConsumerOptions<T>['wrap'],
    deadLetterSubject,
  }
}
