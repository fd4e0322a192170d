import { untilAborted } from '@txbox/core/adapter'
import type { OutboxMessage, PublishContext, Publisher, PublishResult } from '@txbox/core'
import type { AmqpConnection, AmqpMessage, AmqpPublishOptions } from './rabbitmq-client.js'
import { AmqpConnectionSlot } from './rabbitmq-connect.js'
import { type EncodedMessage, encodeMessage } from './rabbitmq-message.js'
import { RabbitmqPublishError } from './errors/rabbitmq-publish-error.js'
import type { RabbitmqPublisherOptions } from './rabbitmq-config.js'
import { type ResolvedPublisherOptions, resolvePublisherOptions } from './rabbitmq-options.js'
import { drained, end, endedError, frameMaxOf, type InFlight, markReturned, onConfirm, type OpenChannel, track, untrack } from './rabbitmq-publish-channel.js'
import { abortError, describe, failAll, markTransport } from './rabbitmq-publish-failure.js'

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
 * A message AMQP cannot carry as it is (a routing key, messageId or header
 * name over 255 bytes of UTF-8, a header value that is not a string, headers
 * too large for one frame) is never sent: it fails as permanent
 * (`reason: 'unpublishable'`) and its neighbours go out as usual. Should
 * amqplib's `publish` throw all the same, the channel is closed and never
 * used again (amqplib queued the confirm callback before it threw, so every
 * later confirm on it would be credited to the wrong message): what was in
 * flight on it fails and is retried on a new channel.
 *
 * Per-key order: the publisher does not declare `stopsKeyOnFailure` (a
 * confirm comes back after later messages have left), so the relay sends a
 * batch in per-key waves. With `pipelineKeys` it declares it and gets each
 * batch in one call, trading order within a batch under a refusal (see the
 * option).
 *
 * ```ts
 * const relay = createRelay({ db, publisher: rabbitmqPublisher({ url: process.env.AMQP_URL, exchange: 'events' }) })
 * ```
 */
export function rabbitmqPublisher(options: RabbitmqPublisherOptions): Publisher {
  return new RabbitmqPublisher(resolvePublisherOptions(options))
}

/** What to hand `channel.publish` for one message, or the result it fails with unsent. */
type Prepared = { readonly ok: true; readonly routingKey: string; readonly options: AmqpPublishOptions } | { readonly ok: false; readonly result: PublishResult }

class RabbitmqPublisher implements Publisher {
  /** Only with `pipelineKeys`, deliberately: see that option for what it trades. */
  readonly stopsKeyOnFailure: boolean | undefined
  private readonly o: ResolvedPublisherOptions
  private readonly connections: AmqpConnectionSlot
  private current: OpenChannel | undefined
  private opening: Promise<OpenChannel> | undefined
  private closing: Promise<void> | undefined
  readonly messagingSystem = 'rabbitmq'

  constructor(options: ResolvedPublisherOptions) {
    this.o = options
    this.stopsKeyOnFailure = options.pipelineKeys ? true : undefined
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
   * Several calls may share the channel at once (the relay's concurrency).
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
      results[index] = markTransport(result)
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
        const prepared = this.prepare(message, open.frameMax)
        if (!prepared.ok) {
          settleAt(index, prepared.result)
          continue
        }
        const entry: InFlight = {
          messageId: message.messageId,
          returned: undefined,
          settle: (result) => settleAt(index, result),
        }
        track(inFlight, entry)
        entries.push(entry)
        let writable: boolean
        try {
          writable = channel.publish(this.o.exchange, prepared.routingKey, Buffer.from(message.payload, 'utf8'), prepared.options, (error) =>
            onConfirm(open, entry, error),
          )
        } catch (error) {
          // amqplib queued this message's confirm callback before it threw, and the
          // broker never saw the message: the channel's confirms are off by one from here.
          this.discard(open, message, error)
          break
        }
        if (!writable && i < messages.length - 1) await drained(channel, open.ended.signal, signal)
      }
      // Whatever the loop did not send (channel closed or discarded, aborted) fails now.
      if (i < messages.length) {
        const notSent = open.closed ? endedError(open) : abortError(signal)
        for (let j = i; j < messages.length; j++) settleAt(j, { ok: false, error: notSent })
      }
      await done
    } finally {
      signal.removeEventListener('abort', onAbort)
      for (const entry of entries) untrack(inFlight, entry)
    }
    return results as PublishResult[]
  }

  /**
   * The routing key and publish options of `message`, or why it cannot be
   * sent: permanently when AMQP cannot carry it, for a retry when the user's
   * routingKey function failed (a fix and a redeploy may cure that).
   */
  private prepare(message: OutboxMessage, frameMax: number): Prepared {
    let routingKey: unknown
    try {
      routingKey = this.o.routingKey(message)
    } catch (error) {
      const failure = new Error(`rabbitmqPublisher: the routingKey function threw for message ${message.messageId}: ${describe(error)}`, { cause: error })
      return { ok: false, result: { ok: false, error: failure } }
    }
    if (typeof routingKey !== 'string') {
      const failure = new Error(`rabbitmqPublisher: the routingKey function returned ${routingKey === null ? 'null' : typeof routingKey} for message ${message.messageId}; it must return a string.`)
      return { ok: false, result: { ok: false, error: failure } }
    }
    let encoded: EncodedMessage
    try {
      encoded = encodeMessage(message, routingKey, frameMax)
    } catch (error) {
      // A message the relay did not build (a field of the wrong type): fail it alone rather than the whole call.
      const failure = new Error(`rabbitmqPublisher: could not encode message ${message.messageId}: ${describe(error)}`, { cause: error })
      return { ok: false, result: { ok: false, error: failure } }
    }
    if (!encoded.ok) {
      const failure = new RabbitmqPublishError(
        'unpublishable',
        `message ${message.messageId} cannot be published to RabbitMQ: ${encoded.problem}. It was not sent and is not retried: it goes to the dead letters.`,
        { messageId: message.messageId },
      )
      return { ok: false, result: { ok: false, error: failure, permanent: true } }
    }
    return { ok: true, routingKey, options: encoded.options }
  }

  /**
   * Throws away a channel whose `publish` threw: no later confirm on it can
   * be trusted, so every message in flight on it (this call's and any other
   * call's) fails now, for a retry; the broker may have routed some of them,
   * as when a channel is lost. The next call opens a new channel.
   */
  private discard(open: OpenChannel, message: OutboxMessage, error: unknown): void {
    const failure = new RabbitmqPublishError(
      'channel-closed',
      `amqplib threw while publishing message ${message.messageId} (${describe(error)}); its channel was closed so that no confirm is credited to the wrong message. The messages in flight on it stay in the outbox and are retried on a new channel.`,
      { cause: error },
    )
    open.discarded = failure
    end(open)
    if (this.current === open) this.current = undefined
    for (const waiting of open.inFlight.values()) for (const entry of waiting) entry.settle({ ok: false, error: failure })
    // Nothing waits for the close: whatever its confirms say now lands on settled messages.
    try {
      open.channel.close().catch(() => {})
    } catch {
      // Already closing or closed.
    }
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
    const open: OpenChannel = {
      channel,
      inFlight: new Map(),
      frameMax: frameMaxOf(channel),
      lastError: undefined,
      connectionError: undefined,
      discarded: undefined,
      closed: false,
      ended: new AbortController(),
    }
    const onConnectionClose = (error?: Error) => {
      if (error) open.connectionError = error
    }
    connection.on('close', onConnectionClose)
    channel.on('error', (error) => {
      open.lastError = error
    })
    channel.on('close', () => {
      // amqplib fails this channel's unconfirmed callbacks with "channel closed".
      end(open)
      if (this.current === open) this.current = undefined
      // A closing connection closes its channels first and then emits its own
      // 'close' with the reason, in the same tick: listen until then.
      queueMicrotask(() => connection.removeListener('close', onConnectionClose))
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
