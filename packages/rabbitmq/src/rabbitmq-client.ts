// The subset of amqplib (0.10, promise API) this package uses. We type it here
// rather than import @types/amqplib so that our declarations do not depend on
// it; an amqplib `ChannelModel` (what `amqplib.connect()` resolves to) fits
// `AmqpConnection` as it is.

/** Message properties as amqplib reads and writes them. */
export interface AmqpMessageProperties {
  readonly messageId?: string | undefined
  readonly contentType?: string | undefined
  /** Seconds since the epoch (the AMQP convention RabbitMQ follows). */
  readonly timestamp?: number | undefined
  readonly headers?: Record<string, unknown> | undefined
  readonly deliveryMode?: number | undefined
}

/** A delivered (or returned) message. */
export interface AmqpMessage {
  readonly content: Buffer
  readonly fields: {
    readonly deliveryTag: number
    readonly redelivered?: boolean
    readonly exchange: string
    readonly routingKey: string
  }
  readonly properties: AmqpMessageProperties
}

/** The options of `publish` that txbox sets. */
export interface AmqpPublishOptions {
  persistent: boolean
  mandatory: boolean
  messageId: string
  contentType: string
  /** Left out when the message's creation time is not a count of seconds since 1970. */
  timestamp?: number
  headers: Record<string, string>
}

/** The events both channel kinds emit. */
interface AmqpChannelEvents {
  on(event: 'close' | 'drain', listener: () => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'return', listener: (message: AmqpMessage) => void): unknown
  removeListener(event: string, listener: (...args: any[]) => void): unknown
}

/** A channel in confirm mode: `publish` takes a callback called on ack (no error) or nack / channel close (an error). */
export interface AmqpConfirmChannel extends AmqpChannelEvents {
  publish(exchange: string, routingKey: string, content: Buffer, options: AmqpPublishOptions, callback: (error: unknown) => void): boolean
  assertExchange(exchange: string, type: string, options: { durable: boolean }): Promise<unknown>
  close(): Promise<void>
}

/** A plain channel, as a consumer uses it. */
export interface AmqpChannel extends AmqpChannelEvents {
  prefetch(count: number): Promise<unknown>
  assertExchange(exchange: string, type: string, options: { durable: boolean }): Promise<unknown>
  assertQueue(queue: string, options: { durable: boolean; arguments: Record<string, unknown> }): Promise<unknown>
  bindQueue(queue: string, exchange: string, routingKey: string): Promise<unknown>
  consume(queue: string, onMessage: (message: AmqpMessage | null) => void, options: { noAck: boolean }): Promise<{ consumerTag: string }>
  cancel(consumerTag: string): Promise<unknown>
  ack(message: AmqpMessage): void
  nack(message: AmqpMessage, allUpTo: boolean, requeue: boolean): void
  reject(message: AmqpMessage, requeue: boolean): void
  close(): Promise<void>
}

/** A connection: an amqplib `ChannelModel`. */
export interface AmqpConnection {
  createConfirmChannel(): Promise<AmqpConfirmChannel>
  createChannel(): Promise<AmqpChannel>
  close(): Promise<void>
  /** `error` is why the broker closed it (e.g. `rabbitmqctl close_connection`), if it did. */
  on(event: 'close', listener: (error?: Error) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  removeListener(event: string, listener: (...args: any[]) => void): unknown
}
