import { consoleLogger, InvalidOptionError, type Logger, type OutboxMessage, silentLogger } from '@txbox/core'
import {
  adapt,
  boolean,
  callback,
  hasMethods,
  integer,
  LOGGER_OPTION,
  type OptionDeclaration,
  oneOf,
  Rejection,
  rejectUnknownOptions,
  resolveOptions,
  shape,
  text,
  wrapOption,
} from '@txbox/core/adapter'
import type { AmqpConnection } from './rabbitmq-client.js'
import { SHORT_STRING_MAX_BYTES } from './rabbitmq-message.js'
import type {
  RabbitmqConnectionOptions,
  RabbitmqConsumerDeclaration,
  RabbitmqConsumerOptions,
  RabbitmqHandler,
  RabbitmqPublisherOptions,
} from './rabbitmq-config.js'
import type { ConsumerTopology } from './rabbitmq-consumer-topology.js'
import type { RabbitmqMessage } from './rabbitmq-message.js'

const AMQP_LIMIT = "AMQP's limit"

/** Where to connect, for the publisher and the consumer: a URL, or your connection (one of the two). */
const CONNECTION_OPTIONS = {
  url: {
    ...text({ defaultText: 'none: url or connection', description: 'amqp://user:pass@host:5672/vhost: the adapter opens, re-opens and closes its own connection.' }),
    accept: (value: unknown) =>
      typeof value === 'string' && /^amqps?:\/\//.test(value) ? value : new Rejection("an AMQP URL such as 'amqp://guest:guest@127.0.0.1:5672'"),
  } satisfies OptionDeclaration<string | undefined>,
  connection: shape<AmqpConnection>()({
    type: 'AmqpConnection',
    defaultText: 'none: url or connection',
    description: 'Your amqplib connection (await amqplib.connect(url)); only the channel is ours, you close the connection.',
    expected: "an amqplib connection (what 'await amqplib.connect(url)' returns, promise API)",
    test: (value) => hasMethods(value, 'createChannel', 'createConfirmChannel'),
  }),
  connectionName: text({ description: "The connection's name in the management UI (with url only).", defaultText: "'txbox-publisher' / 'txbox-consumer'" }),
} as const satisfies Record<keyof RabbitmqConnectionOptions, OptionDeclaration<any>>

/** The options of {@link rabbitmqPublisher}, declared once (checked by resolveOptions, shown in docs/api.md). */
export const PUBLISHER_OPTIONS = {
  ...CONNECTION_OPTIONS,
  exchange: text({
    required: true,
    allowEmpty: true,
    maxBytes: SHORT_STRING_MAX_BYTES,
    maxBytesReason: AMQP_LIMIT,
    expected: "the name of the exchange to publish to (a string; '' for the default exchange)",
    description: "The exchange every message is published to ('' is RabbitMQ's default exchange, never asserted).",
  }),
  routingKey: {
    type: 'string | (message) => string',
    defaultText: 'the topic',
    description: 'The routing key: fixed, or a function of the message; at most 255 bytes of UTF-8.',
    accept: (value: unknown) => {
      if (typeof value === 'function') return value as (message: OutboxMessage) => string
      if (typeof value !== 'string') return new Rejection('a string or a function (message) => string')
      const bytes = Buffer.byteLength(value, 'utf8')
      return bytes > SHORT_STRING_MAX_BYTES ? new Rejection(`at most ${SHORT_STRING_MAX_BYTES} bytes of UTF-8 (${AMQP_LIMIT}), not ${bytes}`) : value
    },
  } satisfies OptionDeclaration<string | ((message: OutboxMessage) => string) | undefined>,
  assertExchange: boolean({ default: true, description: 'Whether to declare the exchange as a durable topic exchange each time a channel opens.' }),
  pipelineKeys: boolean({
    default: false,
    description: "One confirm window per batch instead of per-key waves; a message RabbitMQ refuses can then be overtaken by its key's later messages of that batch.",
  }),
} as const satisfies Record<string, OptionDeclaration<any>>

/** The `declare` option of {@link consumeRabbitmq}. */
export const DECLARATION_OPTIONS = {
  exchange: text({ required: true, expected: "the exchange to bind to (a non-empty string; RabbitMQ's default exchange cannot be bound)", description: 'The exchange the queue is bound to, declared as the publisher declares it.' }),
  routingKeys: {
    type: 'string | string[]',
    default: ['#'],
    defaultText: "['#']",
    description: 'The routing keys (topic patterns) bound.',
    accept: (value: unknown) => {
      const keys = typeof value === 'string' ? [value] : value
      return Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'string')
        ? [...keys]
        : new Rejection("a routing key or a non-empty array of them, e.g. ['email.*']")
    },
  } satisfies OptionDeclaration<string[]>,
  queueType: oneOf(['quorum', 'classic'] as const, { default: 'quorum', description: "The queue's type; quorum counts deliveries exactly." }),
  deadLetterExchange: text({ defaultText: 'none', description: 'Where rejected messages go: a durable direct exchange, with a queue <queue>.dead bound to it.' }),
} as const satisfies Record<keyof RabbitmqConsumerDeclaration, OptionDeclaration<any>>

/** The options of {@link consumeRabbitmq}, declared once (checked by resolveOptions, shown in docs/api.md). */
export const CONSUMER_OPTIONS = {
  ...CONNECTION_OPTIONS,
  queue: text({ required: true, expected: 'the name of the queue to consume (a non-empty string)', description: 'The queue to consume.' }),
  declare: {
    type: 'RabbitmqConsumerDeclaration',
    defaultText: 'none: the queue must exist',
    description: 'Declares the queue, its binding and its dead letters each time a channel opens.',
    fields: DECLARATION_OPTIONS,
    accept: (value: unknown) => resolveDeclaration('consumeRabbitmq', value),
  } satisfies OptionDeclaration<ConsumerTopology | undefined>,
  handler: callback<RabbitmqHandler<any>>()({
    required: true,
    expected: 'an async function (message) => void',
    description: 'Processes one message: resolve to ack it, throw to have it redelivered.',
  }),
  prefetch: integer({ min: 1, max: 65_535, default: 10, description: 'Unacknowledged messages in flight at once (basic.qos), which is also the handler concurrency.' }),
  maxDeliveries: integer({ min: 1, max: 1_000_000, default: 5, description: 'Deliveries of one message before it is rejected without requeue.' }),
  wrap: wrapOption<RabbitmqMessage<any>>(),
  handlerTimeoutMs: integer({
    min: 1,
    max: 2_147_483_647,
    unit: 'ms',
    default: 30_000,
    description: 'How long one handler call (with wrap) may take; then its signal aborts and the delivery counts as failed. Also bounds stop().',
  }),
  logger: adapt(LOGGER_OPTION, { defaultText: 'consoleLogger (warnings and errors to the console), unless onError is given' }),
  onError: callback<(error: unknown, message: RabbitmqMessage<any> | undefined) => void>()({
    expected: 'a function (error, message) => void',
    defaultText: 'none',
    description: 'Deprecated: use logger. Told about every failure, with the error and the message; when given without logger, nothing goes to the console.',
  }),
  reconnectDelay: integer({ min: 1, max: 60_000, unit: 'ms', default: 500, description: 'First delay before re-opening a lost channel or connection (doubling up to 30 s).' }),
} as const satisfies Record<string, OptionDeclaration<any>>

/** Publisher options, validated once. */
export interface ResolvedPublisherOptions {
  readonly url: string | undefined
  readonly connection: AmqpConnection | undefined
  readonly connectionName: string
  readonly exchange: string
  readonly routingKey: (message: OutboxMessage) => string
  readonly assertExchange: boolean
  readonly pipelineKeys: boolean
}

/** Consumer options, validated once. */
export interface ResolvedConsumerOptions<T> {
  readonly url: string | undefined
  readonly connection: AmqpConnection | undefined
  readonly connectionName: string
  readonly queue: string
  readonly declare: ConsumerTopology | undefined
  readonly handler: RabbitmqHandler<T>
  readonly prefetch: number
  readonly maxDeliveries: number
  readonly wrap: ((message: RabbitmqMessage<T>, run: () => Promise<void>) => Promise<unknown>) | undefined
  readonly handlerTimeoutMs: number
  readonly logger: Logger
  readonly onError: ((error: unknown, message: RabbitmqMessage<T> | undefined) => void) | undefined
  readonly reconnectDelay: number
}

export function resolvePublisherOptions(options: RabbitmqPublisherOptions): ResolvedPublisherOptions {
  const where = 'rabbitmqPublisher'
  checkConnectionChoice(where, options, PUBLISHER_OPTIONS)
  const { url, connection, connectionName, exchange, routingKey, assertExchange, pipelineKeys } = resolveOptions(where, PUBLISHER_OPTIONS, options)
  return {
    url,
    connection,
    connectionName: connectionName ?? 'txbox-publisher',
    exchange,
    routingKey: routingKey === undefined ? (m) => m.topic : typeof routingKey === 'function' ? routingKey : () => routingKey,
    // The default exchange cannot be declared.
    assertExchange: exchange !== '' && assertExchange,
    pipelineKeys,
  }
}

export function resolveConsumerOptions<T>(options: RabbitmqConsumerOptions<T>): ResolvedConsumerOptions<T> {
  const where = 'consumeRabbitmq'
  checkConnectionChoice(where, options, CONSUMER_OPTIONS)
  const resolved = resolveOptions(where, CONSUMER_OPTIONS, options)
  return {
    ...resolved,
    connectionName: resolved.connectionName ?? 'txbox-consumer',
    handler: resolved.handler as ResolvedConsumerOptions<T>['handler'],
    wrap: resolved.wrap as ResolvedConsumerOptions<T>['wrap'],
    // Failures must not go unseen: the console, unless the deprecated onError takes them.
    logger: resolved.logger ?? (resolved.onError ? silentLogger : consoleLogger),
    onError: resolved.onError as ResolvedConsumerOptions<T>['onError'],
  }
}

/** url or connection, one of the two; connectionName only with url. Checked before the values, so a caller who gave both hears that first. */
function checkConnectionChoice(where: string, options: unknown, declarations: Record<string, unknown>): void {
  rejectUnknownOptions(where, options, Object.keys(declarations))
  const { url, connection, connectionName } = options as RabbitmqConnectionOptions
  if ((url === undefined) === (connection === undefined)) {
    throw new InvalidOptionError('url', `${where}: pass either url ('amqp://user:pass@host:5672') or connection (your amqplib connection), not both nor neither.`)
  }
  if (connectionName !== undefined && url === undefined) {
    throw new InvalidOptionError('connectionName', `${where}: connectionName only applies with url (name your own connection yourself).`)
  }
}

function resolveDeclaration(where: string, declare: unknown): ConsumerTopology {
  const { exchange, routingKeys, queueType, deadLetterExchange } = resolveOptions(where, DECLARATION_OPTIONS, declare, 'declare.')
  if (deadLetterExchange === exchange) {
    throw new InvalidOptionError('declare.deadLetterExchange', `${where}: declare.deadLetterExchange must name an exchange of its own, not the exchange the queue reads from.`)
  }
  return { exchange, routingKeys, queueType, deadLetterExchange }
}
