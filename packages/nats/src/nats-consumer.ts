import { type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { callHandler, ConsumerLoop, processedBefore, timedOut } from '@txbox/core/adapter'
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './nats-options.js'
import { deadLetterStreamProblem, publishDeadLetter } from './dead-letter.js'
import { ensureDurableConsumer, isNotFound } from './durable-consumer.js'
import { NatsConsumerStartError } from './errors/nats-consumer-start-error.js'
import { NatsHandlerTimeoutError } from './errors/nats-handler-timeout-error.js'
import type { ConsumeNatsOptions } from './nats-config.js'
import { decodeMessage } from './nats-message.js'
import { describe } from './publish-failure.js'

/** How much longer than `handlerTimeoutMs` stop() waits for the consumer loop (a NATS call that never returns) before it gives up on it. */
const STOP_GRACE_MS = 2000
/** How long an ack waits for JetStream's confirmation. */
const ACK_TIMEOUT_MS = 5000

/** A running consumer, as returned by {@link consumeNats}. */
export interface NatsConsumer {
  /**
   * Stops gracefully: no new pulls, the handler in flight finishes (and its
   * message is acknowledged), and the messages pulled but not yet started
   * are handed back (nak) so that another process takes them at once.
   *
   * Bounded: it waits for the pull request in progress to end (at most
   * `fetchWaitMs`: JetStream cannot cancel one, and would deliver the
   * messages handed back to it again); a handler that does not settle within
   * `handlerTimeoutMs` is left running and its delivery counts as failed; if
   * NATS stops answering, stop() gives up `handlerTimeoutMs` + `fetchWaitMs`
   * + 2 s after it was called (the messages in hand are then delivered again
   * after `ackWaitMs`).
   * Idempotent. Never closes your connection.
   */
  stop(): Promise<void>
}

/**
 * Reads a JetStream stream through a durable pull consumer and calls
 * `handler` for each message written by {@link natsPublisher}:
 *
 * ```ts
 * const worker = await consumeNats({
 *   connection: nc, stream: 'EVENTS', durable: 'mailer',
 *   handler: async (m) => sendWelcomeEmail(m.payload),
 *   wrap: (m, run) => processOnce(db, m.messageId, run),
 * })
 * process.on('SIGTERM', () => worker.stop())
 * ```
 *
 * Creates the durable consumer if missing. A message is acknowledged only
 * after its handler resolved; a handler that throws, or outlives
 * `handlerTimeoutMs`, has it delivered again after `retryDelayMs`; a process
 * that dies leaves its messages unacknowledged, and JetStream delivers them
 * again after `ackWaitMs`. After `maxDeliveries` deliveries without success
 * the message is published to `deadLetterSubject` and terminated. Delivery is
 * at least once: drop duplicates by `messageId` (see `wrap`).
 *
 * Resolves once the durable consumer exists; rejects with a
 * {@link NatsConsumerStartError} if it cannot (no such stream, a consumer of
 * that name that cannot work, NATS not answering).
 */
export async function consumeNats<T = unknown>(options: ConsumeNatsOptions<T>): Promise<NatsConsumer> {
  const o = resolveConsumerOptions(options)
  const nc = o.connection as unknown as NatsConnection
  let jsm: JetStreamManager
  try {
    jsm = await jetstreamManager(nc)
  } catch (error) {
    throw new NatsConsumerStartError(o.stream, o.durable, `JetStream did not answer on ${o.connection.getServer()} (${describe(error)}); check that the server runs with JetStream enabled (-js).`, {
      cause: error,
    })
  }
  await ensureDurableConsumer(jsm, o as ResolvedConsumerOptions<unknown>)
  const loop = new PullLoop(o, jsm, jetstream(nc))
  await loop.checkDeadLetterStream()
  return loop.start()
}

class PullLoop<T> extends ConsumerLoop implements NatsConsumer {
  private consumer: Consumer | undefined

  constructor(
    private readonly o: ResolvedConsumerOptions<T>,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
  ) {
    super(o.logger, 'txbox nats consumer')
  }

  protected stopBoundMs(): number {
    return this.o.handlerTimeoutMs + this.o.fetchWaitMs + STOP_GRACE_MS
  }

  protected gaveUpMessage(): string {
    return 'stop() gave up waiting for NATS; the messages in hand are delivered again after ackWaitMs'
  }

  /** Warns at start when no stream captures the dead-letter subject: every dead letter would fail. */
  async checkDeadLetterStream(): Promise<void> {
    const problem = await deadLetterStreamProblem(this.jsm, this.o.deadLetterSubject)
    if (problem) this.log('warn', { err: problem.error, ...this.where() }, problem.message)
  }

  /** The user's connection closed: nothing can be pulled on it any more. */
  protected override ended(): boolean {
    if (!this.o.connection.isClosed()) return false
    if (!this.stopping && !this.closedReported) {
      this.closedReported = true
      this.log('error', this.where(), 'the NATS connection was closed; the consumer stopped (open a new connection and consumer)')
    }
    return true
  }

  private closedReported = false

  protected async recover(error: unknown): Promise<void> {
    if (isNotFound(error, 10014) || /consumer (not found|deleted)/i.test(describe(error))) {
      await this.recreateConsumer()
    } else {
      this.log('error', { err: error, ...this.where() }, 'pulling messages failed; retrying')
    }
  }

  protected step(): Promise<void> {
    return this.pullAndHandle()
  }

  /**
   * One pull request, and the handling of what it brings, one message at a
   * time, as each arrives. Every message pulled is held in `inHand` at once
   * (not left in the client's queue), so the heartbeat declares all of them
   * in progress: the last ones of a batch wait count × handler time, longer
   * than ackWaitMs, and must not be handed to another process meanwhile.
   */
  private async pullAndHandle(): Promise<void> {
    this.consumer ??= await this.js.consumers.get(this.o.stream, this.o.durable)
    const pulling: ConsumerMessages = await this.consumer.fetch({ max_messages: this.o.count, expires: this.o.fetchWaitMs })
    const inHand: JsMsg[] = []
    const settled = new Set<JsMsg>()
    let ended = false
    let pullError: unknown
    let arrived: (() => void) | undefined
    const collecting = (async () => {
      try {
        for await (const m of pulling) {
          inHand.push(m)
          arrived?.()
        }
      } catch (error) {
        pullError = error
      } finally {
        ended = true
        arrived?.()
      }
    })()
    const heartbeat = setInterval(
      () => {
        for (const m of inHand) if (!settled.has(m)) m.working()
      },
      Math.max(100, Math.floor(this.o.ackWaitMs / 3)),
    )
    try {
      let next = 0
      while (!this.stopping) {
        const m = inHand[next]
        if (m !== undefined) {
          next++
          await this.handleOne(m)
          settled.add(m)
        } else if (ended) {
          break
        } else {
          await new Promise<void>((resolve) => {
            arrived = resolve
            this.wake = resolve
          })
          arrived = undefined
        }
      }
    } finally {
      // On stop(), the pull request is left to end by itself (it asked for
      // `count` messages for `fetchWaitMs`): JetStream cannot cancel it, and
      // would deliver what is handed back below to it again, to an inbox no
      // one reads any more, where it would wait out the ack wait.
      if (!this.stopping) pulling.stop()
      await collecting
      clearInterval(heartbeat)
      // Pulled but not started (stop() came): back to JetStream now, rather than after ackWaitMs.
      for (const m of inHand) if (!settled.has(m)) m.nak()
    }
    if (pullError !== undefined && !this.stopping) throw pullError
  }

  private async handleOne(m: JsMsg): Promise<void> {
    const o = this.o
    const deliveries = m.info.deliveryCount
    const decoded = decodeMessage<T>(m)
    if (!decoded.ok) {
      await this.deadLetter(m, deliveries, undefined, `cannot be read: ${decoded.reason}`)
      return
    }
    const message = decoded.message
    if (deliveries > o.maxDeliveries) {
      // Delivered again and again without an answer: its handler crashes the process, or outlives
      // ackWaitMs; or it succeeded and its ack was lost (processOnce knows).
      const check = await processedBefore({
        message,
        wrap: o.wrap,
        timeoutMs: o.handlerTimeoutMs,
        timeoutError: () => new NatsHandlerTimeoutError(message.messageId, o.handlerTimeoutMs),
      })
      if (check.processed) {
        this.log('warn', { ...this.where(), messageId: message.messageId, streamSequence: message.streamSequence, deliveries }, 'a message delivered more than maxDeliveries times was found processed by wrap (its ack was lost); acknowledged')
        await this.ack(m, message.messageId)
        return
      }
      const failedCheck = check.error === undefined ? '' : `; wrap could not tell whether it was processed: ${describe(check.error)}`
      await this.deadLetter(m, deliveries, message.messageId, `delivered ${deliveries} times without being acknowledged (maxDeliveries ${o.maxDeliveries})${failedCheck}`)
      return
    }
    const outcome = await callHandler({
      message,
      handler: o.handler,
      wrap: o.wrap,
      timeoutMs: o.handlerTimeoutMs,
      timeoutError: () => new NatsHandlerTimeoutError(message.messageId, o.handlerTimeoutMs),
      messaging: { system: 'nats', destination: message.subject, messageId: message.messageId, headers: message.headers },
    })
    if (outcome.ok) {
      await this.ack(m, message.messageId)
      return
    }
    const late = timedOut(outcome)
    if (late) this.reportLateHandler(outcome.settled, { messageId: message.messageId })
    if (deliveries >= o.maxDeliveries) {
      await this.deadLetter(m, deliveries, message.messageId, describe(outcome.error))
      return
    }
    m.nak(o.retryDelayMs)
    this.log(
      'warn',
      { err: outcome.error, ...this.where(), messageId: message.messageId, streamSequence: message.streamSequence, deliveries, retryDelayMs: o.retryDelayMs },
      late
        ? 'handler did not settle within handlerTimeoutMs; the message is delivered again after retryDelayMs (the handler is left running)'
        : 'handler failed; the message is delivered again after retryDelayMs',
    )
  }

  private async ack(m: JsMsg, messageId: string): Promise<void> {
    try {
      await m.ackAck({ timeout: ACK_TIMEOUT_MS })
    } catch (error) {
      // Unconfirmed means perhaps delivered again later: at least once, never lost.
      this.log('error', { err: error, ...this.where(), messageId, streamSequence: m.info.streamSequence }, 'the ack was not confirmed; the message may be delivered again')
    }
  }

  /**
   * Publishes the message to the dead-letter subject, then terminates it (in
   * that order, so a crash between them duplicates rather than loses it; the
   * duplicate is dropped by the dead-letter stream, see dead-letter.ts).
   */
  private async deadLetter(m: JsMsg, deliveries: number, messageId: string | undefined, error: string): Promise<void> {
    const o = this.o
    const fields = { ...this.where(), messageId, streamSequence: m.info.streamSequence, deliveries, error, deadLetterSubject: o.deadLetterSubject }
    try {
      await publishDeadLetter(this.js, o.deadLetterSubject, m, { durable: o.durable, deliveries, error, messageId })
    } catch (err) {
      m.nak(o.retryDelayMs)
      this.log('error', { err, ...fields }, 'publishing a dead letter failed; the message is delivered again and the dead letter retried')
      return
    }
    m.term()
    this.log('warn', fields, 'message moved to the dead-letter subject')
  }

  /** The durable consumer vanished (deleted by hand, or with its stream): make it again, and say what that means. */
  private async recreateConsumer(): Promise<void> {
    this.consumer = undefined
    try {
      await ensureDurableConsumer(this.jsm, this.o as ResolvedConsumerOptions<unknown>)
      this.log(
        'warn',
        this.where(),
        'the durable consumer was missing (deleted, or its stream re-created) and was created again; it delivers the stream from its first message, again for those handled before (drop duplicates with processOnce)',
      )
    } catch (error) {
      this.log('error', { err: error, ...this.where() }, 'the durable consumer is missing and creating it again failed; retrying')
    }
  }

  protected where(): Record<string, unknown> {
    return { stream: this.o.stream, durable: this.o.durable, server: this.o.connection.getServer() }
  }

}
