import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import { headers as natsHeaders } from '@nats-io/transport-node'
import { DEAD_LETTER_PREFIX, MESSAGE_ID_HEADER } from './nats-message.js'

/** What a dead letter says about where it came from. */
export interface DeadLetterNote {
  readonly durable: string
  readonly deliveries: number
  /** Why it was given up on: the handler's last error, or why it could not be read. */
  readonly error: string
  /** The outbox message id, when it could be read. */
  readonly messageId: string | undefined
}

/** Keeps the error header on one line and well within max_payload. */
const MAX_ERROR_CHARS = 500

/**
 * Publishes `msg` (its body and its headers, byte for byte) to `subject` with
 * JetStream, with `txbox-dead-*` headers saying where it came from and why,
 * and resolves once a stream stored it. Its `Nats-Msg-Id` is
 * `dead:<stream>:<sequence>`: if the consumer dies between this publish and
 * the `term` of the original, the message comes back, and its second dead
 * letter is dropped by the stream as a duplicate. (Not the outbox message id:
 * a dead-letter subject in the original's stream would drop the dead letter
 * itself as a duplicate of the original.)
 */
export async function publishDeadLetter(js: JetStreamClient, subject: string, msg: JsMsg, note: DeadLetterNote): Promise<void> {
  const h = natsHeaders()
  for (const [name, values] of msg.headers ?? []) {
    // JetStream's own headers (Nats-Msg-Id, Nats-Expected-*, …) would act again on the dead-letter stream.
    if (name.toLowerCase().startsWith('nats-') || name.startsWith(DEAD_LETTER_PREFIX)) continue
    for (const value of values) h.append(name, value)
  }
  const { stream, streamSequence } = msg.info
  h.set(MESSAGE_ID_HEADER, `dead:${stream}:${streamSequence}`)
  h.set(`${DEAD_LETTER_PREFIX}stream`, stream)
  h.set(`${DEAD_LETTER_PREFIX}sequence`, String(streamSequence))
  h.set(`${DEAD_LETTER_PREFIX}subject`, msg.subject)
  h.set(`${DEAD_LETTER_PREFIX}durable`, note.durable)
  h.set(`${DEAD_LETTER_PREFIX}deliveries`, String(note.deliveries))
  if (note.messageId !== undefined) h.set(`${DEAD_LETTER_PREFIX}message-id`, note.messageId)
  h.set(`${DEAD_LETTER_PREFIX}error`, oneLine(note.error))
  const ack = await js.publish(subject, msg.data, { headers: h })
  if (typeof ack?.stream !== 'string' || ack.stream === '') throw new Error(`JetStream answered ${JSON.stringify(ack)} instead of a PubAck`)
}

function oneLine(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ').trim()
  return line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS)}…` : line || 'no reason given'
}

/** Why dead letters to `subject` would fail (no stream captures it), or undefined when a stream does. */
export async function deadLetterStreamProblem(jsm: JetStreamManager, subject: string): Promise<{ error: unknown; message: string } | undefined> {
  try {
    await jsm.streams.find(subject)
    return undefined
  } catch (error) {
    return {
      error,
      message: `no stream captures the dead-letter subject "${subject}"; a message that keeps failing will be retried until one does (create a stream with subjects ['txbox.dead.>'], or pass deadLetterSubject)`,
    }
  }
}
