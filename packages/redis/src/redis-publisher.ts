import { InvalidOptionError, type OutboxMessage, type Publisher, type PublishResult } from '@txbox/core'
import { nonEmptyString, positiveInteger, rejectUnknownOptions } from './check-options.js'
import { RedisStreamWriteError } from './errors/redis-stream-write-error.js'
import type { RedisPublisherClient, RedisStreamsPublisherOptions } from './redis-config.js'
import { entryFields } from './stream-entry.js'
import { XADD_BATCH_SCRIPT, xaddBatchArgs } from './xadd-batch-script.js'

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
 * round trip: one script that runs its XADDs in order, and every reply is
 * checked. A failed XADD fails that message, and the later messages of its
 * key in the batch are not written (so per-key order survives a failure); the
 * other messages are unaffected. A message counts as published only once
 * Redis returned its entry id.
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

  return {
    stopsKeyOnFailure: true,

    async publish(messages, { signal }) {
      const results: PublishResult[] = new Array(messages.length)
      // Which message each entry of the script belongs to, and its stream.
      const queued: { readonly index: number; readonly stream: string }[] = []
      const entries: { stream: string; key: string | null; fields: string[] }[] = []
      const failedKeys = new Set<string>()
      messages.forEach((message, index) => {
        if (message.key !== null && failedKeys.has(message.key)) {
          results[index] = { ok: false, error: heldBack(message) }
          return
        }
        const stream = chooseStream(streamOf, message)
        if (stream instanceof Error) {
          results[index] = { ok: false, error: stream }
          if (message.key !== null) failedKeys.add(message.key)
          return
        }
        entries.push({ stream, key: message.key, fields: entryFields(message) })
        queued.push({ index, stream })
      })
      if (queued.length === 0) return results

      /** Fails every queued message; `transport`: Redis was not reached, or could not run the batch (see PublishResult.transport). */
      const failAll = (reason: string, cause: unknown, transport: boolean) => {
        for (const { index, stream } of queued) {
          const messageId = (messages[index] as OutboxMessage).messageId
          results[index] = { ok: false, error: new RedisStreamWriteError(messageId, stream, reason, { cause }), transport }
        }
        return results
      }
      if (signal.aborted) return failAll('the publish was aborted before it was sent', signal.reason, true)

      const pipeline = redis.pipeline()
      pipeline.call('EVAL', XADD_BATCH_SCRIPT, ...xaddBatchArgs(entries, maxLen))
      let replies: Awaited<ReturnType<typeof pipeline.exec>>
      try {
        replies = await untilAborted(pipeline.exec(), signal)
      } catch (error) {
        if (error === ABORTED) return failAll('the publish was aborted before Redis confirmed it', signal.reason, true)
        return failAll(`the call failed (${(error as Error)?.message ?? String(error)})`, error, true)
      }
      const [callError, reply] = (replies?.[0] ?? [new Error('no reply'), null]) as [Error | null, unknown]
      if (callError) return failAll(`the batch script failed (${callError.message})`, callError, isServerUnavailable(callError))
      if (!Array.isArray(reply) || reply.length !== queued.length) {
        return failAll(`Redis answered with ${Array.isArray(reply) ? reply.length : 'no'} replies for ${queued.length} entries`, undefined, false)
      }
      queued.forEach(({ index, stream }, i) => {
        const answer = reply[i]
        const message = messages[index] as OutboxMessage
        if (answer === '!skip') {
          results[index] = { ok: false, error: heldBack(message) }
        } else if (typeof answer === 'string' && answer.startsWith('!')) {
          // The script catches each XADD's error: an OOM or READONLY reply
          // comes back per entry, and is no more the message's fault there.
          const reply = answer.slice(1)
          const transport = SERVER_UNAVAILABLE.test(reply)
          results[index] = { ok: false, error: new RedisStreamWriteError(message.messageId, stream, `XADD failed (${reply})`), transport }
        } else if (typeof answer !== 'string' || answer.length === 0) {
          // Only an entry id confirms the write; anything else is unconfirmed.
          results[index] = { ok: false, error: new RedisStreamWriteError(message.messageId, stream, `XADD returned ${JSON.stringify(answer)} instead of an entry id`) }
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

/**
 * Whether the batch failed for want of a server that takes writes, whatever
 * the messages: the client's own errors (no connection, connection closed,
 * offline queue off), and the replies that say the server cannot take
 * writes now (out of memory, busy with a script, loading, a replica or a
 * cluster without its master). Not the messages' fault: no attempt counts.
 */
function isServerUnavailable(error: Error): boolean {
  if (error.name !== 'ReplyError') return true
  return SERVER_UNAVAILABLE.test(error.message)
}

const SERVER_UNAVAILABLE = /^(OOM|BUSY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/

function heldBack(message: OutboxMessage): RedisStreamWriteError {
  return new RedisStreamWriteError(message.messageId, undefined, 'not written: an earlier message of its key failed in this batch')
}

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
