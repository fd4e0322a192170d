import { waitFor } from '@txbox/testing'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { consumerFixture, gate, recordingLogger } from './consumer-fixture.js'
import { outboxMessage, readStream } from './redis-test-keys.js'

// Trimming (the publisher's maxLen, XTRIM, XDEL) deletes entries whatever the
// consumer groups did with them. The consumer cannot bring them back, but it
// must never swallow such a loss: it reports it, with the ids or the count.

const f = consumerFixture('redis_trim')
const { redis, prefix } = f

afterEach(() => f.stopConsumers())
afterAll(() => f.close())

const VANISHED = /pending entries were deleted from the stream before being handled/
const TRIMMED_UNREAD = /trimmed from the stream before the group read them/

/** Writes `n` entries and lets consumer `owner` read them (pending, never acknowledged), as a consumer that crashed would. */
async function readWithoutAck(stream: string, n: number, owner: string): Promise<string[]> {
  await f.publish(
    stream,
    Array.from({ length: n }, () => outboxMessage('t')),
  )
  await redis.xgroup('CREATE', stream, 'g', '0')
  const reply = (await redis.xreadgroup('GROUP', 'g', owner, 'COUNT', n, 'STREAMS', stream, '>')) as [string, [string, string[]][]][]
  return (reply[0]?.[1] ?? []).map(([id]) => id)
}

describe('entries deleted from the stream', () => {
  test('pending entries trimmed away are reported with their ids when their consumer restarts, not acknowledged in silence', async () => {
    const stream = `${prefix}pending-own`
    const ids = await readWithoutAck(stream, 3, 'c1')
    await redis.xtrim(stream, 'MAXLEN', 0)
    const logger = recordingLogger()
    let calls = 0
    await f.consume({ stream, group: 'g', consumer: 'c1', logger, handler: () => void calls++ })

    await waitFor(async () => (await f.pending(stream, 'g')) === 0 && logger.find(VANISHED).length > 0, { message: 'the loss is reported' })
    const [report] = logger.find(VANISHED)
    expect(report?.level).toBe('error')
    expect(report?.fields).toMatchObject({ stream, group: 'g', count: 3, ids })
    expect(calls).toBe(0)
  })

  test('pending entries of a dead consumer trimmed away are reported with their ids by the consumer that claims them', async () => {
    const stream = `${prefix}pending-claimed`
    const ids = await readWithoutAck(stream, 2, 'dead')
    await redis.xtrim(stream, 'MAXLEN', 0)
    const logger = recordingLogger()
    await f.consume({ stream, group: 'g', consumer: 'c2', logger, handler: () => {} })

    await waitFor(async () => (await f.pending(stream, 'g')) === 0 && logger.find(VANISHED).length > 0, { message: 'the loss is reported' })
    expect(logger.find(VANISHED)[0]?.fields).toMatchObject({ stream, group: 'g', count: 2, ids })
  })

  test('entries trimmed before the group read them are reported with their count, once for the whole group', async () => {
    const stream = `${prefix}unread`
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM')
    await f.publish(
      stream,
      Array.from({ length: 20 }, () => outboxMessage('t')),
    )
    // The group handled 5 entries, then its consumers were down while the stream was trimmed to 3.
    const read = (await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 5, 'STREAMS', stream, '>')) as [string, [string, string[]][]][]
    const handledIds = (read[0]?.[1] ?? []).map(([id]) => id)
    await redis.xack(stream, 'g', ...handledIds)
    await redis.xtrim(stream, 'MAXLEN', 3)
    const firstLeft = (await readStream(redis, stream))[0]?.id

    const logger = recordingLogger()
    const got: string[] = []
    await f.consume({ stream, group: 'g', consumer: 'c1', logger, handler: (m) => void got.push(m.streamId) })
    await waitFor(() => got.length === 3 && logger.find(TRIMMED_UNREAD).length > 0, { message: 'the 3 entries left are handled and the loss is reported' })
    const [report] = logger.find(TRIMMED_UNREAD)
    expect(report?.level).toBe('error')
    expect(report?.fields).toMatchObject({ stream, group: 'g', count: 12, afterId: handledIds[4], beforeId: firstLeft })

    // Another consumer of the group starting now does not report the same loss again.
    const other = recordingLogger()
    await f.consume({ stream, group: 'g', consumer: 'c2', logger: other, handler: () => {} })
    expect(other.find(TRIMMED_UNREAD)).toEqual([])
  })

  test('an entry trimmed after the consumer read it is still handled from what was read; if its handler fails it goes to the dead letters at once', async () => {
    const stream = `${prefix}trimmed-in-batch`
    const messages = [outboxMessage('t'), outboxMessage('t'), outboxMessage('t')]
    await f.publish(stream, messages)
    const held = gate()
    const handled: string[] = []
    const logger = recordingLogger()
    await f.consume({
      stream,
      group: 'g',
      consumer: 'c1',
      logger,
      count: 10,
      handler: async (m) => {
        if (m.messageId === messages[0]?.messageId) await held.wait
        if (m.messageId === messages[1]?.messageId) throw new Error('boom')
        handled.push(m.messageId)
      },
    })
    await waitFor(async () => (await f.pending(stream, 'g')) === 3, { message: 'the batch was read' })
    await redis.xtrim(stream, 'MAXLEN', 0)
    held.open()

    await waitFor(async () => handled.length === 2 && (await redis.xlen(`${stream}:dead`)) === 1, { message: 'the batch is handled from memory' })
    expect(handled).toEqual([messages[0]?.messageId, messages[2]?.messageId])
    const [dead] = await readStream(redis, `${stream}:dead`)
    expect(dead?.fields).toMatchObject({ messageId: messages[1]?.messageId, deliveries: '1' })
    expect(dead?.fields.error).toMatch(/boom.*deleted from the stream/)
    expect(await f.pending(stream, 'g')).toBe(0)
  })
})
