import { type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './consumer-options.js'
import { publishDeadLetter } from './dead-letter.js'
import { ensureDurableConsumer, isNotFound } from './durable-consumer.js'
import { NatsConsumerStartError } from './errors/nats-consumer-start-error.js'
import { callHandler, type HandlerOutcome } from './handler-call.js'
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

class PullLoop<T> implements NatsConsumer {
  private stopping = false
  private loop: Promise<void> | undefined
  private stopped: Promise<void> | undefined
  /** Ends a wait of the loop (for messages, or a backoff) early. */
  private wake: (() => void) | undefined
  private consumer: Consumer | undefined

  constructor(
    private readonly o: ResolvedConsumerOptions<T>,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
  ) {}

  start(): this {
    this.loop = this.run()
    return this
  }

  stop(): Promise<void> {
    this.stopping = true
    this.wake?.()
    this.stopped ??= (async () => {
      const ended = await settledWithin(this.loop ?? Promise.resolve(), this.o.handlerTimeoutMs + this.o.fetchWaitMs + STOP_GRACE_MS)
      if (!ended) this.log('warn', this.where(), 'txbox nats consumer: stop() gave up waiting for NATS; the messages in hand are delivered again after ackWaitMs')
    })()
    return this.stopped
  }

  /** Warns at start when no stream captures the dead-letter subject: every dead letter would fail. */
  async checkDeadLetterStream(): Promise<void> {
    try {
      await this.jsm.streams.find(this.o.deadLetterSubject)
    } catch (error) {
      this.log(
        'warn',
        { err: error, ...this.where() },
        `txbox nats consumer: no stream captures the dead-letter subject "${this.o.deadLetterSubject}"; a message that keeps failing will be retried until one does (create a stream with subjects ['txbox.dead.>'], or pass deadLetterSubject)`,
      )
    }
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.stopping) {
      if (this.o.connection.isClosed()) {
        this.log('error', this.where(), 'txbox nats consumer: the NATS connection was closed; the consumer stopped (open a new connection and consumer)')
        return
      }
      try {
        await this.pullAndHandle()
        failures = 0
      } catch (error) {
        if (this.stopping || this.o.connection.isClosed()) continue
        failures++
        if (isNotFound(error, 10014) || /consumer (not found|deleted)/i.test(describe(error))) {
          await this.recreateConsumer()
        } else {
          this.log('error', { err: error, ...this.where() }, 'txbox nats consumer: pulling messages failed; retrying')
        }
        await this.sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5000))
      }
    }
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
      // Delivered again and again without an answer: its handler crashes the process, or outlives ackWaitMs.
      await this.deadLetter(m, deliveries, message.messageId, `delivered ${deliveries} times without being acknowledged (maxDeliveries ${o.maxDeliveries})`)
      return
    }
    const outcome = await callHandler(
      (signal) => {
        const run = async () => {
          await o.handler(message, { signal })
        }
        return o.wrap ? o.wrap(message, run) : run()
      },
      message.messageId,
      o.handlerTimeoutMs,
    )
    if (outcome.ok) {
      await this.ack(m, message.messageId)
      return
    }
    const timedOut = 'settled' in outcome
    if (timedOut) this.reportLateHandler(outcome.settled, message.messageId)
    if (deliveries >= o.maxDeliveries) {
      await this.deadLetter(m, deliveries, message.messageId, describe(outcome.error))
      return
    }
    m.nak(o.retryDelayMs)
    this.log(
      'warn',
      { err: outcome.error, ...this.where(), messageId: message.messageId, streamSequence: message.streamSequence, deliveries, retryDelayMs: o.retryDelayMs },
      timedOut
        ? 'txbox nats consumer: handler did not settle within handlerTimeoutMs; the message is delivered again after retryDelayMs (the handler is left running)'
        : 'txbox nats consumer: handler failed; the message is delivered again after retryDelayMs',
    )
  }

  private async ack(m: JsMsg, messageId: string): Promise<void> {
    try {
      await m.ackAck({ timeout: ACK_TIMEOUT_MS })
    } catch (error) {
      // Unconfirmed means perhaps delivered again later: at least once, never lost.
      this.log('error', { err: error, ...this.where(), messageId, streamSequence: m.info.streamSequence }, 'txbox nats consumer: the ack was not confirmed; the message may be delivered again')
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
      this.log('error', { err, ...fields }, 'txbox nats consumer: publishing a dead letter failed; the message is delivered again and the dead letter retried')
      return
    }
    m.term()
    this.log('warn', fields, 'txbox nats consumer: message moved to the dead-letter subject')
  }

  /** A handler that timed out may still finish: say so, since its work may now be done twice. */
  private reportLateHandler(settled: Promise<HandlerOutcome>, messageId: string): void {
    void settled.then((late) =>
      this.log(
        'warn',
        { ...this.where(), messageId, succeeded: late.ok, ...(late.ok ? {} : { err: late.error }) },
        'txbox nats consumer: a handler that had timed out settled late; its delivery had already counted as failed',
      ),
    )
  }

  /** The durable consumer vanished (deleted by hand, or with its stream): make it again, and say what that means. */
  private async recreateConsumer(): Promise<void> {
    this.consumer = undefined
    try {
      await ensureDurableConsumer(this.jsm, this.o as ResolvedConsumerOptions<unknown>)
      this.log(
        'warn',
        this.where(),
        'txbox nats consumer: the durable consumer was missing (deleted, or its stream re-created) and was created again; it delivers the stream from its first message, again for those handled before (drop duplicates with processOnce)',
      )
    } catch (error) {
      this.log('error', { err: error, ...this.where() }, 'txbox nats consumer: the durable consumer is missing and creating it again failed; retrying')
    }
  }

  private where(): Record<string, unknown> {
    return { stream: this.o.stream, durable: this.o.durable, server: this.o.connection.getServer() }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }

  private log(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    this.o.logger[level](fields, message)
  }
}

/** Whether `promise` settled within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}
