import { untilAborted } from '@txbox/core/adapter'
import type { OutboxMessage, PublishContext, Publisher, PublishResult } from '@txbox/core'
import type { AmqpConfirmChannel, AmqpConnection, AmqpMessage, AmqpPublishOptions } from './rabbitmq-client.js'
import { AmqpConnectionSlot } from './rabbitmq-connect.js'
import { type EncodedMessage, encodeMessage } from './rabbitmq-message.js'
import { RabbitmqPublishError, type RabbitmqPublishFailure } from './errors/rabbitmq-publish-error.js'
import type { RabbitmqPublisherOptions } from './rabbitmq-config.js'
import { type ResolvedPublisherOptions, resolvePublisherOptions } from './rabbitmq-options.js'

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
  /** In-flight messages of this channel by message id, to match basic.return frames (and to fail them if it is discarded). */
  readonly inFlight: Map<string, InFlight[]>
  /** The largest frame the broker takes on this connection (the negotiated frame_max): a message's headers must fit in one. */
  readonly frameMax: number
  /** The last error the channel reported (the broker's 404, ...), kept as the cause of the failures it brings. */
  lastError: Error | undefined
  /** Why the connection under it closed, when the broker said (it does so after it closed the channels). */
  connectionError: Error | undefined
  /** Set when `publish` threw and the channel was thrown away: what its unconfirmed messages failed with. */
  discarded: RabbitmqPublishError | undefined
  /** Closed by the broker, by us, or discarded: never publish on it again. */
  closed: boolean
  /** Aborted once `closed` is set: wakes a call waiting for 'drain'. */
  readonly ended: AbortController
}

/** What to hand `channel.publish` for one message, or the result it fails with unsent. */
type Prepared = { readonly ok: true; readonly routingKey: string; readonly options: AmqpPublishOptions } | { readonly ok: false; readonly result: PublishResult }

/**
 * When the broker does not say how large a frame may be (a connection object
 * that is not amqplib's), assume RabbitMQ's default frame_max.
 */
const DEFAULT_FRAME_MAX = 131_072

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

/** amqplib's confirm callback: `error` is null on an ack, an Error on a nack or when the channel closed. */
function onConfirm(open: OpenChannel, entry: InFlight, error: unknown): void {
  // An unroutable mandatory message is returned and then acked: the ack does not make it published.
  if (!error) entry.settle(entry.returned ? { ok: false, error: entry.returned } : { ok: true })
  // On a lost connection amqplib runs these callbacks before the connection
  // says why it closed; by the next microtask it has, and the error can say so.
  else queueMicrotask(() => entry.settle({ ok: false, error: confirmFailure(open, entry, error) }))
}

function confirmFailure(open: OpenChannel, entry: InFlight, error: unknown): RabbitmqPublishError {
  if (open.discarded) return open.discarded
  if (open.closed || (error instanceof Error && error.message === 'channel closed')) return channelClosed(open, error)
  return new RabbitmqPublishError('nacked', `RabbitMQ refused message ${entry.messageId} (basic.nack).`, { cause: error, messageId: entry.messageId })
}

function markReturned(open: OpenChannel, returned: AmqpMessage): void {
  const messageId = returned.properties.messageId
  if (messageId === undefined) return
  const entry = open.inFlight.get(messageId)?.find((e) => e.returned === undefined)
  if (!entry) return
  entry.returned = new RabbitmqPublishError(
    'returned',
    `message ${messageId} is unroutable: no queue is bound to exchange "${returned.fields.exchange}" for routing key "${returned.fields.routingKey}" (basic.return). Bind a queue.`,
    { messageId },
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

/** Resolves when the channel can take more (or closed or was discarded, or the call was aborted). */
function drained(channel: AmqpConfirmChannel, ended: AbortSignal, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      channel.removeListener('drain', finish)
      ended.removeEventListener('abort', finish)
      signal.removeEventListener('abort', finish)
      resolve()
    }
    if (ended.aborted || signal.aborted) return resolve()
    channel.on('drain', finish)
    ended.addEventListener('abort', finish, { once: true })
    signal.addEventListener('abort', finish, { once: true })
  })
}

function end(open: OpenChannel): void {
  open.closed = true
  open.ended.abort()
}

/**
 * The frame_max amqplib negotiated for the channel's connection. amqplib
 * keeps it on the connection object under every channel (`channel.connection`),
 * which its published types do not declare.
 */
function frameMaxOf(channel: AmqpConfirmChannel): number {
  const frameMax = (channel as { connection?: { frameMax?: unknown } }).connection?.frameMax
  return typeof frameMax === 'number' && frameMax > 0 ? frameMax : DEFAULT_FRAME_MAX
}

/** What a message fails with when its channel can no longer be used. */
function endedError(open: OpenChannel): RabbitmqPublishError {
  return open.discarded ?? channelClosed(open)
}

function channelClosed(open: OpenChannel, error?: unknown): RabbitmqPublishError {
  // amqplib's own "channel closed" says less than the broker's reason, when there is one.
  const cause = open.lastError ?? open.connectionError ?? error
  return new RabbitmqPublishError(
    'channel-closed',
    `the RabbitMQ channel closed before the broker confirmed the message${cause ? ` (${describe(cause)})` : ''}.`,
    { cause },
  )
}

function abortError(signal: AbortSignal): RabbitmqPublishError {
  return new RabbitmqPublishError('aborted', `the relay stopped waiting for RabbitMQ's confirm (${describe(signal.reason)}).`, {
    cause: signal.reason,
  })
}

function failAll(messages: readonly OutboxMessage[], error: Error): PublishResult[] {
  return messages.map(() => markTransport({ ok: false, error }))
}

/** Failures where the broker was not reached: they spend no attempt (see PublishResult.transport). */
const TRANSPORT_FAILURES: ReadonlySet<RabbitmqPublishFailure> = new Set(['channel-closed', 'unavailable', 'aborted', 'closed'])

function markTransport(result: PublishResult): PublishResult {
  if (result.ok || result.transport !== undefined) return result
  const { error } = result
  if (!(error instanceof RabbitmqPublishError) || !TRANSPORT_FAILURES.has(error.reason)) return result
  // A channel the broker closed with 406 PRECONDITION_FAILED was closed
  // over a message it refused (a header it reads, a body over
  // max_message_size): that spends attempts, or the message would be sent
  // again without end, taking its neighbours down every time.
  if (error.reason === 'channel-closed' && (error.cause as { code?: unknown } | undefined)?.code === 406) return result
  return { ...result, transport: true }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return error === undefined ? 'no reason given' : String(error)
}
