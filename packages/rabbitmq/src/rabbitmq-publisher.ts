import type { OutboxMessage, PublishContext, Publisher, PublishResult } from '@txbox/core'
import type { AmqpConfirmChannel, AmqpConnection, AmqpMessage, AmqpPublishOptions } from './amqp-types.js'
import { AmqpConnectionSlot } from './connect-amqp.js'
import { RabbitmqPublishError } from './errors/rabbitmq-publish-error.js'
import { type RabbitmqPublisherOptions, type ResolvedPublisherOptions, resolvePublisherOptions } from './rabbitmq-config.js'
import { KEY_HEADER, TOPIC_HEADER } from './rabbitmq-message.js'

/**
 * A {@link Publisher} for RabbitMQ, on one confirm channel.
 *
 * Each message is published persistent and `mandatory` to `exchange`, with
 * routing key = its topic (or `routingKey`), `messageId`, `contentType:
 * application/json`, `timestamp` (its enqueue time, in seconds), the headers
 * `txbox-topic`, `txbox-key` (when keyed) and its own headers; the body is its
 * JSON text as enqueued. A call publishes all its messages back to back, then
 * waits for the broker's confirms: a message is `ok` only when acked and not
 * returned as unroutable. A nack, a basic.return, a channel that closes first
 * or the relay's abort signal fail it (it stays in the outbox and is retried).
 * A lost channel or connection is re-opened on the next call.
 *
 * ```ts
 * const relay = createRelay({ db, publisher: rabbitmqPublisher({ url: process.env.AMQP_URL, exchange: 'events' }) })
 * ```
 */
export function rabbitmqPublisher(options: RabbitmqPublisherOptions): Publisher {
  return new RabbitmqPublisher(resolvePublisherOptions(options))
}

/** One message waiting for its confirm. */
interface InFlight {
  readonly messageId: string
  /** Set when the broker returned the message (basic.return comes before its ack). */
  returned: Error | undefined
  settle(result: PublishResult): void
}

/** A channel and what we learned about it. */
interface OpenChannel {
  readonly channel: AmqpConfirmChannel
  /** In-flight messages of this channel by message id, to match basic.return frames. */
  readonly inFlight: Map<string, InFlight[]>
  /** The last error the channel (or its connection) reported, kept as the cause of the failures it brings. */
  lastError: Error | undefined
  closed: boolean
}

class RabbitmqPublisher implements Publisher {
  private readonly o: ResolvedPublisherOptions
  private readonly connections: AmqpConnectionSlot
  private current: OpenChannel | undefined
  private opening: Promise<OpenChannel> | undefined
  private closing: Promise<void> | undefined

  constructor(options: ResolvedPublisherOptions) {
    this.o = options
    this.connections = new AmqpConnectionSlot(options.connection, options.url, options.connectionName)
  }

  async publish(messages: readonly OutboxMessage[], context: PublishContext): Promise<readonly PublishResult[]> {
    if (messages.length === 0) return []
    const { signal } = context
    if (this.closing) return failAll(messages, new RabbitmqPublishError('closed', 'the RabbitMQ publisher was closed; create a new one.'))
    if (signal.aborted) return failAll(messages, abortError(signal))
    let open: OpenChannel
    try {
      open = await untilAborted(this.openChannel(), signal)
    } catch (error) {
      if (signal.aborted) return failAll(messages, abortError(signal))
      return failAll(
        messages,
        new RabbitmqPublishError('unavailable', `could not open a RabbitMQ channel: ${describe(error)}; the messages stay in the outbox and are retried.`, {
          cause: error,
        }),
      )
    }
    return this.publishOn(open, messages, signal)
  }

  async close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    const open = this.current ?? (await this.opening?.catch(() => undefined))
    this.current = undefined
    if (open && !open.closed) await open.channel.close().catch(() => {})
    await this.connections.close()
  }

  /**
   * Publishes on one channel: every message back to back (waiting only when
   * the socket buffer is full), then one confirm window for the whole call.
   */
  private async publishOn(open: OpenChannel, messages: readonly OutboxMessage[], signal: AbortSignal): Promise<readonly PublishResult[]> {
    const { channel, inFlight } = open
    const results: (PublishResult | undefined)[] = new Array(messages.length)
    const entries: InFlight[] = []
    let pending = messages.length
    let allSettled!: () => void
    const done = new Promise<void>((resolve) => {
      allSettled = resolve
    })
    const settleAt = (index: number, result: PublishResult) => {
      if (results[index] !== undefined) return
      results[index] = result
      if (--pending === 0) allSettled()
    }
    const onAbort = () => {
      const error = abortError(signal)
      for (let i = 0; i < messages.length; i++) settleAt(i, { ok: false, error })
    }
    signal.addEventListener('abort', onAbort, { once: true })

    let i = 0
    try {
      for (; i < messages.length; i++) {
        if (signal.aborted || open.closed) break
        const index = i
        const message = messages[index] as OutboxMessage
        const entry: InFlight = {
          messageId: message.messageId,
          returned: undefined,
          settle: (result) => settleAt(index, result),
        }
        let routingKey: string
        try {
          routingKey = this.o.routingKey(message)
        } catch (error) {
          entry.settle({ ok: false, error: new Error(`rabbitmqPublisher: the routingKey function threw for message ${message.messageId}: ${describe(error)}`, { cause: error }) })
          continue
        }
        track(inFlight, entry)
        entries.push(entry)
        let writable: boolean
        try {
          writable = channel.publish(this.o.exchange, routingKey, Buffer.from(message.payload, 'utf8'), publishOptions(message), (error) =>
            entry.settle(confirmResult(open, entry, error)),
          )
        } catch (error) {
          // The channel closed under us: this and the rest were never sent.
          entry.settle({ ok: false, error: channelClosed(open, error) })
          break
        }
        if (!writable && i < messages.length - 1) await drained(channel, signal)
      }
      // Whatever the loop did not send (channel closed, aborted) fails now.
      if (i < messages.length) {
        const notSent = open.closed ? channelClosed(open) : abortError(signal)
        for (let j = i; j < messages.length; j++) settleAt(j, { ok: false, error: notSent })
      }
      await done
    } finally {
      signal.removeEventListener('abort', onAbort)
      for (const entry of entries) untrack(inFlight, entry)
    }
    return results as PublishResult[]
  }

  private async openChannel(): Promise<OpenChannel> {
    if (this.current && !this.current.closed) return this.current
    this.opening ??= this.open().finally(() => {
      this.opening = undefined
    })
    return this.opening
  }

  private async open(): Promise<OpenChannel> {
    const connection = await this.connection()
    const channel = await connection.createConfirmChannel()
    const open: OpenChannel = { channel, inFlight: new Map(), lastError: undefined, closed: false }
    channel.on('error', (error) => {
      open.lastError = error
    })
    channel.on('close', () => {
      // amqplib fails this channel's unconfirmed callbacks with "channel closed".
      open.closed = true
      if (this.current === open) this.current = undefined
    })
    channel.on('return', (returned: AmqpMessage) => markReturned(open, returned))
    if (this.o.assertExchange) await channel.assertExchange(this.o.exchange, 'topic', { durable: true })
    if (this.closing) {
      await channel.close().catch(() => {})
      throw new RabbitmqPublishError('closed', 'the RabbitMQ publisher was closed; create a new one.')
    }
    this.current = open
    return open
  }

  private async connection(): Promise<AmqpConnection> {
    const connection = await this.connections.get()
    if (this.closing) {
      await this.connections.close()
      throw new RabbitmqPublishError('closed', 'the RabbitMQ publisher was closed; create a new one.')
    }
    return connection
  }
}

function publishOptions(message: OutboxMessage): AmqpPublishOptions {
  const headers: Record<string, string> = { ...message.headers, [TOPIC_HEADER]: message.topic }
  if (message.key !== null) headers[KEY_HEADER] = message.key
  else delete headers[KEY_HEADER]
  return {
    persistent: true,
    // Unroutable → basic.return → failed, instead of RabbitMQ's silent drop.
    mandatory: true,
    messageId: message.messageId,
    contentType: 'application/json',
    timestamp: Math.floor(message.createdAt.getTime() / 1000),
    headers,
  }
}

function confirmResult(open: OpenChannel, entry: InFlight, error: unknown): PublishResult {
  if (error) {
    if (open.closed || (error instanceof Error && error.message === 'channel closed')) return { ok: false, error: channelClosed(open, error) }
    return {
      ok: false,
      error: new RabbitmqPublishError('nacked', `RabbitMQ refused message ${entry.messageId} (basic.nack); it stays in the outbox and is retried.`, { cause: error }),
    }
  }
  // An unroutable mandatory message is returned and then acked: the ack does not make it published.
  if (entry.returned) return { ok: false, error: entry.returned }
  return { ok: true }
}

function markReturned(open: OpenChannel, returned: AmqpMessage): void {
  const messageId = returned.properties.messageId
  if (messageId === undefined) return
  const entry = open.inFlight.get(messageId)?.find((e) => e.returned === undefined)
  if (!entry) return
  entry.returned = new RabbitmqPublishError(
    'returned',
    `message ${messageId} is unroutable: no queue is bound to exchange "${returned.fields.exchange}" for routing key "${returned.fields.routingKey}" (basic.return). Bind a queue; the message stays in the outbox and is retried.`,
  )
}

function track(inFlight: Map<string, InFlight[]>, entry: InFlight): void {
  const list = inFlight.get(entry.messageId)
  if (list) list.push(entry)
  else inFlight.set(entry.messageId, [entry])
}

function untrack(inFlight: Map<string, InFlight[]>, entry: InFlight): void {
  const list = inFlight.get(entry.messageId)
  if (!list) return
  const rest = list.filter((e) => e !== entry)
  if (rest.length === 0) inFlight.delete(entry.messageId)
  else inFlight.set(entry.messageId, rest)
}

/** Resolves when the channel can take more (or closed, or the call was aborted). */
function drained(channel: AmqpConfirmChannel, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      channel.removeListener('drain', finish)
      channel.removeListener('close', finish)
      signal.removeEventListener('abort', finish)
      resolve()
    }
    channel.on('drain', finish)
    channel.on('close', finish)
    signal.addEventListener('abort', finish, { once: true })
  })
}

/** `promise`, or a rejection with the signal's reason once it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

function channelClosed(open: OpenChannel, error?: unknown): RabbitmqPublishError {
  const cause = open.lastError ?? error
  return new RabbitmqPublishError(
    'channel-closed',
    `the RabbitMQ channel closed before the broker confirmed the message${cause ? ` (${describe(cause)})` : ''}; it stays in the outbox and is retried on a new channel.`,
    { cause },
  )
}

function abortError(signal: AbortSignal): RabbitmqPublishError {
  return new RabbitmqPublishError('aborted', `the relay stopped waiting for RabbitMQ's confirm (${describe(signal.reason)}); the message stays in the outbox and is retried.`, {
    cause: signal.reason,
  })
}

function failAll(messages: readonly OutboxMessage[], error: Error): PublishResult[] {
  return messages.map(() => ({ ok: false, error }))
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
