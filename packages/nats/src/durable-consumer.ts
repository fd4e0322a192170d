import { AckPolicy, type ConsumerConfig, type ConsumerInfo, DeliverPolicy, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream'
import type { ResolvedConsumerOptions } from './nats-options.js'
import { NatsConsumerStartError } from './errors/nats-consumer-start-error.js'
import { subjectMatches } from './nats-subject.js'
import { describe } from './publish-failure.js'

/** JetStream durations are nanoseconds. */
const nanos = (ms: number) => ms * 1_000_000

/**
 * Makes sure the durable pull consumer exists as the helper needs it, and
 * creates it if missing: explicit acks, the options' ack wait, and no
 * server-side delivery limit (`max_deliver: -1`). The helper counts
 * deliveries itself: with JetStream's own limit, a message whose handler
 * crashes the process on its last delivery would never be delivered again,
 * and never reach the dead letters either.
 *
 * An existing consumer keeps its other settings; its ack wait and delivery
 * limit are updated to these when they differ. One that cannot work (a push
 * consumer, another ack policy, another filter) is a start error, as is a
 * dead-letter subject that this consumer would read back.
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, o: ResolvedConsumerOptions<unknown>): Promise<'created' | 'found' | 'updated'> {
  const fail = (reason: string, cause?: unknown) => new NatsConsumerStartError(o.stream, o.durable, reason, cause === undefined ? undefined : { cause })
  let stream: StreamInfo
  try {
    stream = await jsm.streams.info(o.stream)
  } catch (error) {
    if (isNotFound(error, 10059)) throw fail('the stream does not exist; create it first (its subjects capture what the relay publishes).', error)
    throw fail(`JetStream did not answer (${describe(error)}); check that the server runs with JetStream enabled.`, error)
  }
  const capturesDeadLetters = (stream.config.subjects ?? []).some((s) => subjectMatches(s, o.deadLetterSubject))
  if (capturesDeadLetters && (o.filterSubject === undefined || subjectMatches(o.filterSubject, o.deadLetterSubject))) {
    throw fail(
      `its dead-letter subject "${o.deadLetterSubject}" is stored in this stream and read by this consumer, so dead letters would come back to the handler; pass a deadLetterSubject another stream captures, or a filterSubject that leaves it out.`,
    )
  }

  let existing: ConsumerInfo | undefined
  try {
    existing = await jsm.consumers.info(o.stream, o.durable)
  } catch (error) {
    if (!isNotFound(error, 10014)) throw fail(`reading the consumer failed (${describe(error)}).`, error)
  }
  const wanted: Partial<ConsumerConfig> = { ack_wait: nanos(o.ackWaitMs), max_deliver: -1 }
  if (existing === undefined) {
    try {
      await jsm.consumers.add(o.stream, {
        ...wanted,
        durable_name: o.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...(o.filterSubject === undefined ? {} : { filter_subject: o.filterSubject }),
      })
      return 'created'
    } catch (error) {
      throw fail(`creating the durable consumer failed (${describe(error)}).`, error)
    }
  }
  const config = existing.config
  if (config.deliver_subject) throw fail('a push consumer of that name exists; consumeNats pulls. Pick another durable name.')
  if (config.ack_policy !== AckPolicy.Explicit) throw fail(`the consumer exists with ack policy "${config.ack_policy}"; consumeNats needs "explicit". Pick another durable name.`)
  const filter = config.filter_subject || undefined
  if (filter !== o.filterSubject) {
    throw fail(`the consumer exists with filter subject ${filter === undefined ? '(none)' : `"${filter}"`}; pass the same filterSubject, or pick another durable name.`)
  }
  if (config.ack_wait === wanted.ack_wait && config.max_deliver === wanted.max_deliver) return 'found'
  try {
    await jsm.consumers.update(o.stream, o.durable, wanted)
  } catch (error) {
    throw fail(`updating its ack wait and delivery limit failed (${describe(error)}).`, error)
  }
  return 'updated'
}

/** A JetStream "not found" answer: stream 10059, consumer 10014. */
export function isNotFound(error: unknown, code: number): boolean {
  return (error as { code?: unknown } | null)?.code === code
}
