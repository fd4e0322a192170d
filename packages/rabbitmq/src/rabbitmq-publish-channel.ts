import type { PublishResult } from '@txbox/core'
import type { AmqpConfirmChannel, AmqpMessage } from './rabbitmq-client.js'
import { RabbitmqPublishError } from './errors/rabbitmq-publish-error.js'
import { describe } from './rabbitmq-publish-failure.js'

// The state of the publisher's confirm channel and what amqplib's callbacks
// do to it: confirms, returns, and the channel's end.

/** One message waiting for its confirm. */
export interface InFlight {
  readonly messageId: string
  /** Set when the broker returned the message (basic.return comes before its ack). */
  returned: Error | undefined
  settle(result: PublishResult): void
}

/** A channel and what we learned about it. */
export interface OpenChannel {
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

/**
 * When the broker does not say how large a frame may be (a connection object
 * that is not amqplib's), assume RabbitMQ's default frame_max.
 */
export const DEFAULT_FRAME_MAX = 131_072

/** amqplib's confirm callback: `error` is null on an ack, an Error on a nack or when the channel closed. */
export function onConfirm(open: OpenChannel, entry: InFlight, error: unknown): void {
  // An unroutable mandatory message is returned and then acked: the ack does not make it published.
  if (!error) entry.settle(entry.returned ? { ok: false, error: entry.returned } : { ok: true })
  // On a lost connection amqplib runs these callbacks before the connection
  // says why it closed; by the next microtask it has, and the error can say so.
  else queueMicrotask(() => entry.settle({ ok: false, error: confirmFailure(open, entry, error) }))
}

export function confirmFailure(open: OpenChannel, entry: InFlight, error: unknown): RabbitmqPublishError {
  if (open.discarded) return open.discarded
  if (open.closed || (error instanceof Error && error.message === 'channel closed')) return channelClosed(open, error)
  return new RabbitmqPublishError('nacked', `RabbitMQ refused message ${entry.messageId} (basic.nack).`, { cause: error, messageId: entry.messageId })
}

export function markReturned(open: OpenChannel, returned: AmqpMessage): void {
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

export function track(inFlight: Map<string, InFlight[]>, entry: InFlight): void {
  const list = inFlight.get(entry.messageId)
  if (list) list.push(entry)
  else inFlight.set(entry.messageId, [entry])
}

export function untrack(inFlight: Map<string, InFlight[]>, entry: InFlight): void {
  const list = inFlight.get(entry.messageId)
  if (!list) return
  const rest = list.filter((e) => e !== entry)
  if (rest.length === 0) inFlight.delete(entry.messageId)
  else inFlight.set(entry.messageId, rest)
}

/** Resolves when the channel can take more (or closed or was discarded, or the call was aborted). */
export function drained(channel: AmqpConfirmChannel, ended: AbortSignal, signal: AbortSignal): Promise<void> {
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

export function end(open: OpenChannel): void {
  open.closed = true
  open.ended.abort()
}

/**
 * The frame_max amqplib negotiated for the channel's connection. amqplib
 * keeps it on the connection object under every channel (`channel.connection`),
 * which its published types do not declare.
 */
export function frameMaxOf(channel: AmqpConfirmChannel): number {
  const frameMax = (channel as { connection?: { frameMax?: unknown } }).connection?.frameMax
  return typeof frameMax === 'number' && frameMax > 0 ? frameMax : DEFAULT_FRAME_MAX
}

/** What a message fails with when its channel can no longer be used. */
export function endedError(open: OpenChannel): RabbitmqPublishError {
  return open.discarded ?? channelClosed(open)
}

export function channelClosed(open: OpenChannel, error?: unknown): RabbitmqPublishError {
  // amqplib's own "channel closed" says less than the broker's reason, when there is one.
  const cause = open.lastError ?? open.connectionError ?? error
  return new RabbitmqPublishError(
    'channel-closed',
    `the RabbitMQ channel closed before the broker confirmed the message${cause ? ` (${describe(cause)})` : ''}.`,
    { cause },
  )
}
