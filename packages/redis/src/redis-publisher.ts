import { InvalidOptionError, type OutboxMessage, type Publisher, type PublishResult } from '@txbox/core'
import { nonEmptyString, positiveInteger, rejectUnknownOptions } from './check-options.js'
import { RedisStreamWriteError } from './errors/redis-stream-write-error.js'
import type { RedisPublisherClient, RedisStreamsPublisherOptions } from './redis-config.js'
import { entryFields } from './stream-entry.js'

const WHERE = 'redisStreamsPublisher'
const OPTION_NAMES = ['redis', 'stream', 'maxLen']

/**
 * A {@link Publisher} that appends each outbox message to a Redis stream with
 * XADD. Give it to the relay:
 *
 * ```ts
 * const relay = createRelay({ db, publisher: redisStreamsPublisher({ redis }) })
 * ```
 *
 * Each entry has the fields `messageId`, `topic`, `payload` (the JSON text),
 * and `key` and `headers` (JSON text) when present. A batch goes out in one
 * pipeline and every reply is checked: a failed XADD fails that message only,
 * and a message counts as published only once Redis returned its entry id.
 *
 * `close()` does nothing to `redis`: the client is yours, quit it yourself.
 */
export function redisStreamsPublisher(options: RedisStreamsPublisherOptions): Publisher {
  rejectUnknownOptions(WHERE, options, OPTION_NAMES)
  const redis = options.redis as RedisPublisherClient
  if (!redis || typeof redis.pipeline !== 'function') {
    throw new InvalidOptionError('redis', `${WHERE}: redis must be an ioredis client (new Redis(url)).`)
  }
  const streamOf = resolveStream(options.stream)
  const maxLen = positiveInteger(WHERE, 'maxLen', options.maxLen, undefined)
  const trim = maxLen === undefined ? [] : ['MAXLEN', '~', maxLen]

  return {
    async publish(messages, { signal }) {
      const results: PublishResult[] = new Array(messages.length)
      const pipeline = redis.pipeline()
      // Which message each queued XADD belongs to, and its stream.
      const queued: { readonly index: number; readonly stream: string }[] = []
      messages.forEach((message, index) => {
        const stream = chooseStream(streamOf, message)
        if (stream instanceof Error) {
          results[index] = { ok: false, error: stream }
          return
        }
        pipeline.call('XADD', stream, ...trim, '*', ...entryFields(message))
        queued.push({ index, stream })
      })
      if (queued.length === 0) return results

      const failAll = (reason: string, cause: unknown) => {
        for (const { index, stream } of queued) {
          const messageId = (messages[index] as OutboxMessage).messageId
          results[index] = { ok: false, error: new RedisStreamWriteError(messageId, stream, reason, { cause }) }
        }
        return results
      }
      if (signal.aborted) return failAll('the publish was aborted before it was sent', signal.reason)

      let replies: Awaited<ReturnType<typeof pipeline.exec>>
      try {
        replies = await untilAborted(pipeline.exec(), signal)
      } catch (error) {
        if (error === ABORTED) return failAll('the publish was aborted before Redis confirmed it', signal.reason)
        return failAll(`the pipeline failed (${(error as Error)?.message ?? String(error)})`, error)
      }
      if (!Array.isArray(replies) || replies.length !== queued.length) {
        return failAll(`Redis answered the pipeline with ${Array.isArray(replies) ? replies.length : 'no'} replies for ${queued.length} commands`, undefined)
      }
      queued.forEach(({ index, stream }, i) => {
        const [error, reply] = replies[i] as [Error | null, unknown]
        const messageId = (messages[index] as OutboxMessage).messageId
        if (error) {
          results[index] = { ok: false, error: new RedisStreamWriteError(messageId, stream, `XADD failed (${error.message})`, { cause: error }) }
        } else if (typeof reply !== 'string' || reply.length === 0) {
          // Only an entry id confirms the write; anything else is unconfirmed.
          results[index] = { ok: false, error: new RedisStreamWriteError(messageId, stream, `XADD returned ${JSON.stringify(reply)} instead of an entry id`) }
        } else {
          results[index] = { ok: true }
        }
      })
      return results
    },

    async close() {
      // Nothing to release: the client belongs to the caller.
    },
  }
}

type StreamOf = (message: OutboxMessage) => string

function resolveStream(stream: RedisStreamsPublisherOptions['stream']): StreamOf {
  if (stream === undefined) return (m) => m.topic
  if (typeof stream === 'function') return stream
  const name = nonEmptyString(WHERE, 'stream', stream)
  return () => name
}

/** The message's stream, or the error that fails this message alone (a throwing or bad `stream` function). */
function chooseStream(streamOf: StreamOf, message: OutboxMessage): string | Error {
  let stream: unknown
  try {
    stream = streamOf(message)
  } catch (error) {
    return new RedisStreamWriteError(message.messageId, undefined, `the stream function threw (${(error as Error)?.message ?? String(error)})`, { cause: error })
  }
  if (typeof stream !== 'string' || stream.length === 0) {
    return new RedisStreamWriteError(message.messageId, undefined, `the stream function returned ${JSON.stringify(stream) ?? String(stream)}; it must return a non-empty stream name`)
  }
  return stream
}

const ABORTED = Symbol('aborted')

/** Resolves or rejects with `promise`, or rejects with {@link ABORTED} as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ABORTED)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
