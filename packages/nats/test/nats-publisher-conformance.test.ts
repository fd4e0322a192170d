import { natsPublisher } from '@txbox/nats'
import { describePublisherConformance, type PublisherFixture, uniqueName, waitForValue } from '@txbox/testing'
import { asReceived, openTestNats, readStream } from './nats-test-streams.js'

describePublisherConformance(
  'nats',
  async (): Promise<PublisherFixture> => {
    const nats = await openTestNats('txbox-conformance')
    const stream = uniqueName('conf_nats')
    // The stream captures each topic by name, so that breakTopic can take one
    // out: its messages then find no stream ("no responders"), the failure a
    // NATS publisher meets for a destination that does not exist.
    const subjects = new Set([`${stream}.none`])
    await nats.addStream({ name: stream, subjects: [...subjects] })
    let updating: Promise<unknown> = Promise.resolve()
    const update = () => {
      updating = updating.then(() => nats.jsm.streams.update(stream, { subjects: [...subjects] }))
      return updating
    }
    const inner = natsPublisher({ connection: nats.nc })
    return {
      publisher: {
        // A message published before its subject was added to the stream finds no stream: wait for pending updates.
        async publish(messages, context) {
          await updating
          return inner.publish(messages, context)
        },
        close: () => inner.close?.() ?? Promise.resolve(),
      },
      topic(name) {
        const t = `${stream}.${name}`
        subjects.add(t)
        void update()
        return t
      },
      async received(topic, count) {
        await updating
        const got = await waitForValue(
          () => readStream(nats.jsm, stream, topic),
          (copies) => copies.length >= count,
          { timeoutMs: 10_000, message: `${count} messages on ${topic}` },
        )
        return got.map(asReceived)
      },
      async breakTopic(topic) {
        subjects.delete(topic)
        await update()
      },
      async close() {
        await inner.close?.()
        await updating.catch(() => {})
        await nats.close()
      },
    }
  },
  { stopsKeyOnFailure: false },
)
