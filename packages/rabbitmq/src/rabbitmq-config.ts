import { consoleLogger, InvalidOptionError, type Logger, type OutboxMessage, silentLogger } from '@txbox/core'
import type { HandlerContext } from '@txbox/core/adapter'
import type { AmqpConnection } from './amqp-types.js'
import { SHORT_STRING_MAX_BYTES } from './encode-message.js'
import type { ConsumerTopology } from './rabbitmq-consumer-topology.js'
import type { RabbitmqMessage } from './rabbitmq-message.js'

/**
 * Where to connect: either a URL (the publisher or consumer then opens and
 * owns its connection, re-opens it after a failure and closes it on
 * `close()` / `stop()`), or a connection you own (an amqplib `ChannelModel`;
 * only the channel is ours, and your connection stays open when we stop).
 */
export type RabbitmqConnectionOptions =
  | {
      /** `amqp://user:pass@host:5672/vhost`. */
      url: string
      connection?: undefined
      /** The connection's name in the management UI and `rabbitmqctl list_connections`. */
      connectionName?: string
    }
  | {
      /** Your amqplib connection (`await amqplib.connect(url)`). You close it. */
      connection: AmqpConnection
      url?: undefined
      connectionName?: undefined
    }

/** Options of {@link rabbitmqPublisher}. */
export type RabbitmqPublisherOptions = RabbitmqConnectionOptions & {
  /**
   * The exchange every message is published to. `''` is RabbitMQ's default
   * exchange (routing key = queue name); it is never asserted.
   */
  exchange: string
  /**
   * The routing key: a fixed string, or a function of the message.
   * Default: the message's topic. At most 255 bytes of UTF-8 (AMQP's limit):
   * a message whose routing key is longer is refused as permanent.
   */
  routingKey?: string | ((message: OutboxMessage) => string)
  /**
   * Whether to declare the exchange as a durable `topic` exchange each time a
   * channel opens (idempotent when it exists with those settings). Default
   * true. Set false when you declare the exchange yourself, e.g. with another
   * type: declaring an existing exchange with a different type fails.
   */
  assertExchange?: boolean
}

/** The `declare` option of {@link consumeRabbitmq}: what the consumer declares before it consumes. */
export interface RabbitmqConsumerDeclaration {
  /**
   * The exchange the queue is bound to, declared as `rabbitmqPublisher`
   * declares it (a durable topic exchange), so that a worker may start before
   * any relay did. If yours has another type, declare everything yourself.
   */
  exchange: string
  /** The routing keys (topic patterns) bound. Default `['#']`: every message of the exchange. */
  routingKeys?: string | readonly string[]
  /** The queue's type. Default `'quorum'`, which counts deliveries exactly (see `maxDeliveries`). */
  queueType?: 'quorum' | 'classic'
  /**
   * Where rejected messages go: declared as a durable direct exchange, with a
   * queue `<queue>.dead` bound to it that keeps this queue's dead letters.
   * Default: none (RabbitMQ drops a message rejected after `maxDeliveries`).
   */
  deadLetterExchange?: string
}

/** Options of {@link consumeRabbitmq}. */
export type RabbitmqConsumerOptions<T = unknown> = RabbitmqConnectionOptions & {
  /** The queue to consume. Declare it (and its bindings, and its dead-letter exchange) yourself, or pass `declare`. */
  queue: string
  /**
   * Declares the queue, its binding to `exchange` and its dead letters each
   * time a channel opens (idempotent). Without it, the queue must exist.
   */
  declare?: RabbitmqConsumerDeclaration
  /**
   * Processes one message. Resolve to ack it; throw (or outlive
   * `handlerTimeoutMs`) to have it redelivered (or dead-lettered after
   * `maxDeliveries`). `context.signal` aborts when it timed out.
   */
  handler: RabbitmqHandler<T>
  /** Unacknowledged messages in flight at once (basic.qos), which is also the handler concurrency. Default 10. */
  prefetch?: number
  /**
   * Deliveries of one message before it is rejected without requeue (so the
   * queue's dead-letter exchange, if any, takes it). Default 5. Counted with
   * the `x-delivery-count` header on quorum queues (exact, across consumers
   * and restarts); on classic queues in this process only (see the docs).
   */
  maxDeliveries?: number
  /**
   * Runs the handler inside something, typically the inbox:
   * `wrap: (m, run) => processOnce(db, m.messageId, run)`, so that a
   * redelivered message is skipped and the handler's writes commit with its
   * inbox record. The message is acked when the returned promise resolves.
   * `handlerTimeoutMs` covers `wrap` and handler together.
   */
  wrap?: (message: RabbitmqMessage<T>, run: () => Promise<void>) => Promise<unknown>
  /**
   * How long one handler call (with `wrap`) may take, in ms. After that its
   * signal aborts, the delivery counts as failed (requeued, or rejected to
   * the dead letters on its `maxDeliveries`-th attempt) and the consumer
   * moves on; a handler that never settles is left behind. Also bounds how
   * long `stop()` waits for the handlers in flight. Default 30000.
   */
  handlerTimeoutMs?: number
  /**
   * Where the consumer logs failed handlers, dead letters, undecodable
   * deliveries and lost channels or connections (levels `warn` and `error`;
   * each message starts with `txbox rabbitmq consumer:`, and `err` carries the
   * error: a {@link RabbitmqConsumerError} whose `reason` says which, an
   * {@link UndecodableMessageError}, or what the handler threw). pino fits.
   * Default: the console (`consoleLogger` of @txbox/core), unless `onError`
   * is given. The same contract as the Redis and NATS consumers.
   */
  logger?: Logger
  /**
   * @deprecated Use `logger`, as the other adapters' consumers do. Still
   * told about every failure, with the error and the message (when there is
   * one); when given without `logger`, nothing goes to the console.
   */
  onError?: (error: unknown, message: RabbitmqMessage<T> | undefined) => void
  /** First delay before re-opening a lost channel or connection, in ms (doubling up to 30 s). Default 500. */
  reconnectDelay?: number
}

/** Handles one message (see `handler` of {@link consumeRabbitmq}). */
export type RabbitmqHandler<T = unknown> = (message: RabbitmqMessage<T>, context: HandlerContext) => Promise<void> | void

/** Publisher options, validated once. */
export interface ResolvedPublisherOptions {
  readonly url: string | undefined
  readonly connection: AmqpConnection | undefined
  readonly connectionName: string
  readonly exchange: string
  readonly routingKey: (message: OutboxMessage) => string
  readonly assertExchange: boolean
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

const PUBLISHER_OPTIONS = ['url', 'connection', 'connectionName', 'exchange', 'routingKey', 'assertExchange']
const CONSUMER_OPTIONS = ['url', 'connection', 'connectionName', 'queue', 'declare', 'handler', 'prefetch', 'maxDeliveries', 'wrap', 'handlerTimeoutMs', 'logger', 'onError', 'reconnectDelay']

export function resolvePublisherOptions(options: RabbitmqPublisherOptions): ResolvedPublisherOptions {
  const where = 'rabbitmqPublisher'
  const connection = resolveConnection(where, options, PUBLISHER_OPTIONS, 'txbox-publisher')
  if (typeof options.exchange !== 'string') {
    throw new InvalidOptionError('exchange', `${where}: exchange must be the name of the exchange to publish to (a string; '' for the default exchange).`)
  }
  if (Buffer.byteLength(options.exchange, 'utf8') > SHORT_STRING_MAX_BYTES) {
    throw new InvalidOptionError('exchange', `${where}: exchange is ${Buffer.byteLength(options.exchange, 'utf8')} bytes of UTF-8; AMQP names hold at most 255 bytes.`)
  }
  const { routingKey } = options
  let route: (message: OutboxMessage) => string
  if (routingKey === undefined) route = (m) => m.topic
  else if (typeof routingKey === 'string') {
    if (Buffer.byteLength(routingKey, 'utf8') > SHORT_STRING_MAX_BYTES) {
      throw new InvalidOptionError('routingKey', `${where}: routingKey is ${Buffer.byteLength(routingKey, 'utf8')} bytes of UTF-8; AMQP routing keys hold at most 255 bytes.`)
    }
    route = () => routingKey
  } else if (typeof routingKey === 'function') route = routingKey
  else throw new InvalidOptionError('routingKey', `${where}: routingKey must be a string or a function (message) => string.`)
  if (options.assertExchange !== undefined && typeof options.assertExchange !== 'boolean') {
    throw new InvalidOptionError('assertExchange', `${where}: assertExchange must be true or false.`)
  }
  return {
    ...connection,
    exchange: options.exchange,
    routingKey: route,
    // The default exchange cannot be declared.
    assertExchange: options.exchange !== '' && options.assertExchange !== false,
  }
}

export function resolveConsumerOptions<T>(options: RabbitmqConsumerOptions<T>): ResolvedConsumerOptions<T> {
  const where = 'consumeRabbitmq'
  const connection = resolveConnection(where, options, CONSUMER_OPTIONS, 'txbox-consumer')
  if (typeof options.queue !== 'string' || options.queue === '') {
    throw new InvalidOptionError('queue', `${where}: queue must be the name of the queue to consume (a non-empty string).`)
  }
  if (typeof options.handler !== 'function') {
    throw new InvalidOptionError('handler', `${where}: handler must be an async function (message) => void.`)
  }
  if (options.wrap !== undefined && typeof options.wrap !== 'function') {
    throw new InvalidOptionError('wrap', `${where}: wrap must be a function (message, run) => Promise<void>, e.g. (m, run) => processOnce(db, m.messageId, run).`)
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new InvalidOptionError('onError', `${where}: onError must be a function (error, message) => void.`)
  }
  return {
    ...connection,
    queue: options.queue,
    declare: resolveDeclaration(where, options.declare),
    handler: options.handler,
    prefetch: integer(where, 'prefetch', options.prefetch, 10, 1, 65_535),
    maxDeliveries: integer(where, 'maxDeliveries', options.maxDeliveries, 5, 1, 1_000_000),
    wrap: options.wrap,
    handlerTimeoutMs: integer(where, 'handlerTimeoutMs', options.handlerTimeoutMs, 30_000, 1, 2_147_483_647),
    // Failures must not go unseen: the console, unless the deprecated onError takes them.
    logger: options.logger ?? (options.onError ? silentLogger : consoleLogger),
    onError: options.onError,
    reconnectDelay: integer(where, 'reconnectDelay', options.reconnectDelay, 500, 1, 60_000),
  }
}

function resolveDeclaration(where: string, declare: RabbitmqConsumerDeclaration | undefined): ConsumerTopology | undefined {
  if (declare === undefined) return undefined
  const fail = (option: string, what: string) => new InvalidOptionError(`declare.${option}`, `${where}: declare.${option} ${what}`)
  if (declare === null || typeof declare !== 'object') throw new InvalidOptionError('declare', `${where}: declare must be an object such as { exchange: 'events', routingKeys: ['email.*'] }.`)
  for (const key of Object.keys(declare)) {
    if (!['exchange', 'routingKeys', 'queueType', 'deadLetterExchange'].includes(key)) {
      throw fail(key, 'is not an option. Known: exchange, routingKeys, queueType, deadLetterExchange.')
    }
  }
  if (typeof declare.exchange !== 'string' || declare.exchange === '') {
    throw fail('exchange', "must name the exchange to bind to (a non-empty string; RabbitMQ's default exchange cannot be bound).")
  }
  const keys = declare.routingKeys === undefined ? ['#'] : typeof declare.routingKeys === 'string' ? [declare.routingKeys] : declare.routingKeys
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) {
    throw fail('routingKeys', "must be a routing key or a non-empty array of them, e.g. ['email.*'].")
  }
  const queueType = declare.queueType ?? 'quorum'
  if (queueType !== 'quorum' && queueType !== 'classic') throw fail('queueType', "must be 'quorum' or 'classic'.")
  const dlx = declare.deadLetterExchange
  if (dlx !== undefined && (typeof dlx !== 'string' || dlx === '' || dlx === declare.exchange)) {
    throw fail('deadLetterExchange', 'must name an exchange of its own (a non-empty string, not the exchange the queue reads from).')
  }
  return { exchange: declare.exchange, routingKeys: [...keys], queueType, deadLetterExchange: dlx }
}

function resolveConnection(
  where: string,
  options: RabbitmqConnectionOptions,
  allowed: readonly string[],
  defaultName: string,
): { url: string | undefined; connection: AmqpConnection | undefined; connectionName: string } {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `${where}: options must be an object.`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError(key, `${where}: unknown option "${key}". Known options: ${allowed.join(', ')}.`)
    }
  }
  const { url, connection, connectionName } = options
  if ((url === undefined) === (connection === undefined)) {
    throw new InvalidOptionError('url', `${where}: pass either url ('amqp://user:pass@host:5672') or connection (your amqplib connection), not both nor neither.`)
  }
  if (url !== undefined && (typeof url !== 'string' || !/^amqps?:\/\//.test(url))) {
    throw new InvalidOptionError('url', `${where}: url must be an AMQP URL such as 'amqp://guest:guest@127.0.0.1:5672'.`)
  }
  if (connection !== undefined && (typeof connection?.createChannel !== 'function' || typeof connection.createConfirmChannel !== 'function')) {
    throw new InvalidOptionError('connection', `${where}: connection must be an amqplib connection (what 'await amqplib.connect(url)' returns, promise API).`)
  }
  if (connectionName !== undefined && (url === undefined || typeof connectionName !== 'string')) {
    throw new InvalidOptionError('connectionName', `${where}: connectionName is a string, and only applies with url (name your own connection yourself).`)
  }
  return { url, connection, connectionName: connectionName ?? defaultName }
}

function integer(where: string, name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `${where}: ${name} must be an integer from ${min} to ${max}, got ${String(value)}.`)
  }
  return value
}
