// A connection can go silent rather than close: a cut network or a frozen
// broker answers nothing and resets nothing. These bound what a consumer
// waits for then, and make it notice sooner.
import { settledWithin } from '@txbox/core/adapter'
import type { AmqpConnection } from './rabbitmq-client.js'
import { RabbitmqConsumerError } from './errors/rabbitmq-consumer-error.js'

/**
 * The heartbeat, in seconds, a consumer asks for on the connection it opens
 * itself (`url`), unless the url sets `heartbeat`. amqplib asks for none and
 * so takes the server's (RabbitMQ's default: 60 s): a silent connection went
 * unnoticed for two to three minutes, on both sides, and its unacked
 * messages stayed held by a consumer that could not settle them.
 */
export const CONSUMER_HEARTBEAT_SECONDS = 10

/** How long a consumer's own connection may take to open (TCP and handshake); amqplib waits for ever. */
export const CONNECT_TIMEOUT_MS = 10_000

/** How long a consumer's stop() waits, in all, for RabbitMQ's answers (cancel, closes) before it cuts its connection. */
export const STOP_ANSWER_MS = 5000

/** `url` with `heartbeat=` {@link CONSUMER_HEARTBEAT_SECONDS} added, unless it sets one. */
export function withConsumerHeartbeat(url: string): string {
  const parsed = new URL(url)
  if (parsed.searchParams.has('heartbeat')) return url
  parsed.searchParams.set('heartbeat', String(CONSUMER_HEARTBEAT_SECONDS))
  return parsed.toString()
}

/**
 * The time stop() may spend waiting for RabbitMQ, shared by its requests (the
 * handlers' own time is not counted). Once one request goes unanswered the
 * connection is taken for silent and the rest are not waited for.
 */
export class AnswerBudget {
  private left: number
  private silent = false

  /** `onSilent` is called once, when a request first goes unanswered. */
  constructor(
    ms: number,
    private readonly onSilent: () => void = () => {},
  ) {
    this.left = ms
  }

  /** Whether `work` settled within what is left. */
  async wait(work: Promise<unknown> | undefined): Promise<boolean> {
    if (work === undefined) return true
    const started = Date.now()
    const settled =
      this.left > 0 &&
      (await settledWithin(
        work.then(
          () => true,
          () => true,
        ),
        this.left,
      )) !== undefined
    this.left = settled ? this.left - (Date.now() - started) : 0
    if (!settled && !this.silent) {
      this.silent = true
      this.onSilent()
    }
    return settled
  }
}

/** What a consumer reports when stop() gave up waiting for RabbitMQ. */
export function stopUnanswered(queue: string, ms: number, ownConnection: boolean): RabbitmqConsumerError {
  const then = ownConnection
    ? 'its connection is cut; the messages it had not acked are delivered again'
    : 'the channel is left to close with your connection; the messages it had not acked are delivered again then'
  return new RabbitmqConsumerError('unanswered', `consumeRabbitmq: stop() on queue "${queue}" got no answer from RabbitMQ within ${ms} ms (the connection went silent); ${then}.`)
}

/**
 * Cuts an amqplib connection at once, without the closing handshake that a
 * silent peer never answers: its socket is destroyed with `reason`, which
 * amqplib takes as a socket error (it closes its channels, stops its
 * heartbeat and emits `error` and `close`).
 */
export function cutConnection(connection: AmqpConnection, reason: Error): void {
  const socket = (connection as { connection?: { stream?: { destroy?: (error?: Error) => void } } }).connection?.stream
  socket?.destroy?.(reason)
}
