// Each test file has streams of its own (unique names and subjects), deleted
// when it ends, on the NATS JetStream server the tests share.
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, type StreamConfig, StorageType } from '@nats-io/jetstream'
import { connect, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node'
import { type ReceivedMessage, serviceUrls } from '@txbox/testing'

/** The NATS server of the tests: TEST_NATS_URL, or the one on 127.0.0.1:4222. */
export const natsUrl = serviceUrls().natsUrl

export interface TestNats {
  readonly nc: NatsConnection
  readonly jsm: JetStreamManager
  readonly js: JetStreamClient
  /** Creates a stream (memory storage) that `close()` deletes. */
  addStream(config: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void>
  /** Deletes the streams made here and closes the connection. Idempotent. */
  close(): Promise<void>
}

export async function openTestNats(name = 'txbox-test'): Promise<TestNats> {
  const nc = await connect({ servers: natsUrl, name })
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  const streams: string[] = []
  let closed: Promise<void> | undefined
  return {
    nc,
    jsm,
    js,
    async addStream(config) {
      await jsm.streams.add({ storage: StorageType.Memory, ...config })
      streams.push(config.name)
    },
    close() {
      closed ??= (async () => {
        for (const stream of streams) await jsm.streams.delete(stream).catch(() => {})
        await nc.close()
      })()
      return closed
    },
  }
}

/** A message as stored, read back with its headers. */
export interface StoredCopy {
  readonly subject: string
  readonly seq: number
  readonly headers: MsgHdrs | undefined
  readonly data: Uint8Array
}

/** Every message `stream` holds (of `subject`, if given), in stream order, read by sequence. */
export async function readStream(jsm: JetStreamManager, stream: string, subject?: string): Promise<StoredCopy[]> {
  const info = await jsm.streams.info(stream)
  const out: StoredCopy[] = []
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
    if (m === null || (subject !== undefined && m.subject !== subject)) continue
    out.push({ subject: m.subject, seq: m.seq, headers: m.header, data: m.data })
  }
  return out
}

/** A stored copy as the conformance suite compares it: txbox's and JetStream's own headers taken apart. */
export function asReceived(copy: StoredCopy): ReceivedMessage {
  const h = copy.headers
  const headers: Record<string, string> = {}
  for (const [name, values] of h ?? []) {
    if (name.toLowerCase().startsWith('nats-') || name === 'txbox-key' || name === 'txbox-topic') continue
    headers[name] = values.join(', ')
  }
  return {
    messageId: h?.get('Nats-Msg-Id') ?? '',
    topic: h?.get('txbox-topic') ?? copy.subject,
    key: h?.has('txbox-key') ? h.get('txbox-key') : null,
    payload: JSON.parse(Buffer.from(copy.data).toString('utf8')),
    headers,
  }
}
