import { describePublisherConformance, type PublisherFixture, type ReceivedMessage, uniqueName, waitForValue } from '@txbox/testing'
import { redisStreamsPublisher } from '@txbox/redis'
import { deleteKeys, readStream, testRedis } from './redis-test-keys.js'

describePublisherConformance('redis', async (): Promise<PublisherFixture> => {
  const redis = testRedis()
  const prefix = `${uniqueName('redis_conf')}:`
  const publisher = redisStreamsPublisher({ redis })
  let closed: Promise<void> | undefined
  return {
    publisher,
    topic: (name) => `${prefix}${name}`,
    async received(topic, count): Promise<ReceivedMessage[]> {
      const entries = await waitForValue(
        () => readStream(redis, topic),
        (e) => e.length >= count,
        { timeoutMs: 5000, message: `${count} entries in ${topic}` },
      )
      return entries.map(({ fields }) => ({
        messageId: fields.messageId as string,
        topic: fields.topic as string,
        key: fields.key ?? null,
        payload: JSON.parse(fields.payload as string),
        headers: fields.headers === undefined ? {} : JSON.parse(fields.headers),
      }))
    },
    async breakTopic(topic) {
      // XADD on a key holding a string fails with WRONGTYPE.
      await redis.set(topic, 'not a stream')
    },
    close() {
      closed ??= (async () => {
        await publisher.close?.()
        await deleteKeys(redis, prefix)
        await redis.quit()
      })()
      return closed
    },
  }
}, { stopsKeyOnFailure: true })
