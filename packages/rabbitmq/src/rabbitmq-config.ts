import { InvalidOptionError, type OutboxMessage } from '@txbox/core'
import type { AmqpConnection } from './amqp-types.js'
import { SHORT_STRING_MAX_BYTES } from './encode-message.js'
import { RabbitmqConsumerError } from './errors/rabbitmq-consumer-error.js'
import { UndecodableMessageError } from './errors/undecodable-message-error.js'
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
  /** Processes one message. Resolve to ack it; throw to have it redelivered (or dead-lettered after `maxDeliveries`). */
  handler: (message: RabbitmqMessage<T>) => Promise<void>
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
   */
  wrap?: (message: RabbitmqMessage<T>, run: () => Promise<void>) => Promise<unknown>
  /**
   * Told about every failure: a handler that threw (with its message), an
   * undecodable delivery ({@link UndecodableMessageError}), a lost channel or
   * connection, a lost ack ({@link RabbitmqConsumerError}, whose `reason`
   * says which). The message is redelivered or dead-lettered all the same.
   * Default: the console, `console.warn` for a failed handler (it is retried),
   * `console.error` for the rest.
   */
  onError?: (error: unknown, message: RabbitmqMessage<T> | undefined) => void
  /** First delay before re-opening a lost channel or connection, in ms (doubling up to 30 s). Default 500. */
  reconnectDelay?: number
}

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
  readonly handler: (message: RabbitmqMessage<T>) => Promise<void>
  readonly prefetch: number
  readonly maxDeliveries: number
  readonly wrap: ((message: RabbitmqMessage<T>, run: () => Promise<void>) => Promise<unknown>) | undefined
  readonly onError: (error: unknown, message: RabbitmqMessage<T> | undefined) => void
  readonly reconnectDelay: number
}

const PUBLISHER_OPTIONS = ['url', 'connection', 'connectionName', 'exchange', 'routingKey', 'assertExchange']
const CONSUMER_OPTIONS = ['url', 'connection', 'connectionName', 'queue', 'declare', 'handler', 'prefetch', 'maxDeliveries', 'wrap', 'onError', 'reconnectDelay']

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
    onError: options.onError ?? reportToConsole,
    reconnectDelay: integer(where, 'reconnectDelay', options.reconnectDelay, 500, 1, 60_000),
  }
}

/** The default `onError`: nothing a consumer meets goes unsaid. */
function reportToConsole(error: unknown, message: RabbitmqMessage<unknown> | undefined): void {
  // The consumer's own events say what happened and what it does next in their message.
  if (error instanceof RabbitmqConsumerError || error instanceof UndecodableMessageError) console.error(error.message)
  // A failed handler is retried (or dead-lettered): a warning, with its stack.
  else if (message) console.warn(`consumeRabbitmq: the handler failed on message ${message.messageId} (delivery ${message.deliveries}):`, error)
  else console.error('consumeRabbitmq:', error)
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
