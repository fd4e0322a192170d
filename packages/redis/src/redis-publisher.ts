import type { OutboxMessage, Publisher, PublishResult } from '@txbox/core'
import { ABORTED, resolveOptions, untilAborted } from '@txbox/core/adapter'
import { PUBLISHER_OPTIONS } from './redis-options.js'
import { type RedisPublishFailure, RedisPublishError } from './errors/redis-publish-error.js'
import { streamSlot } from './hash-slot.js'
import { planSlotCalls } from './plan-slot-calls.js'
import type { RedisStreamsPublisherOptions } from './redis-config.js'
import { entryFields } from './redis-message.js'
import { XADD_BATCH_SCRIPT, xaddBatchArgs } from './xadd-batch-script.js'

const WHERE = 'redisStreamsPublisher'

/** One message of the batch on its way to a stream. */
interface Entry {
  /** The message's index in the batch. */
  readonly index: number
  readonly stream: string
  readonly key: string | null
  readonly fields: string[]
  /** The stream's hash slot on a Redis Cluster; 0 for every stream on a single node. */
  readonly slot: number
}

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
 * `redis` may be an ioredis `Cluster`: the batch then goes as one script call
 * per hash slot, in parallel. A key whose messages go to streams in different
 * slots is written one run of same-slot messages at a time, each run sent
 * once the previous one was confirmed (and not at all after a failure), so
 * the same promises hold; give a key's streams one {hash tag} to keep its
 * batch in one round trip.
 *
 * `close()` does nothing to `redis`: the client is yours, quit it yourself.
 */
export function redisStreamsPublisher(options: RedisStreamsPublisherOptions): Publisher {
  const { redis, stream, maxLen } = resolveOptions(WHERE, PUBLISHER_OPTIONS, options)
  const streamOf: StreamOf = stream === undefined ? (m) => m.topic : typeof stream === 'function' ? stream : () => stream
  // On a single node every stream can go in one script call; in a cluster
  // only the streams of one hash slot can (else CROSSSLOT).
  const slotOf: (stream: string) => number =
    redis.isCluster === true ? (stream) => streamSlot(stream, String(redis.options?.keyPrefix ?? '')) : () => 0
  // The slots whose node was sent the script's text by this publisher: later
  // calls send its SHA only (EVALSHA), and the text again on NOSCRIPT (a
  // restart, a failover, SCRIPT FLUSH). The first call to a slot sends the
  // text at once rather than pay a NOSCRIPT round trip.
  const scriptSent = new Set<number>()

  return {
    stopsKeyOnFailure: true,
    messagingSystem: 'redis',

    async publish(messages, { signal }) {
      const results: PublishResult[] = new Array(messages.length)
      const entries: Entry[] = []
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
        entries.push({ index, stream, key: message.key, fields: entryFields(message), slot: slotOf(stream) })
      })

      /** Fails these entries; `transport`: Redis was not reached, or could not run the call (see PublishResult.transport). */
      const fail = (failed: readonly Entry[], why: RedisPublishFailure, reason: string, cause: unknown, transport: boolean): PublishResult[] =>
        failed.map(({ index, stream }) => {
          const messageId = (messages[index] as OutboxMessage).messageId
          return { ok: false, error: new RedisPublishError(why, messageId, stream, reason, { cause }), transport }
        })

      /** Runs one script call (the entries of one slot) and returns a result per entry; never rejects. */
      const write = async (call: readonly Entry[]): Promise<PublishResult[]> => {
        const { keys, args } = xaddBatchArgs(call, maxLen)
        const slot = (call[0] as Entry).slot
        let reply: unknown
        try {
          const sent = scriptSent.has(slot) ? XADD_BATCH_SCRIPT.run(redis, keys, args) : XADD_BATCH_SCRIPT.evaluate(redis, keys, args)
          reply = await untilAborted(sent, signal)
          scriptSent.add(slot)
        } catch (error) {
          if (error === ABORTED) return fail(call, 'aborted', 'the publish was aborted before Redis confirmed it', signal.reason, true)
          const err = error instanceof Error ? error : new Error(String(error))
          const what = err.name === 'ReplyError' ? 'the batch script failed' : 'the call failed'
          return fail(call, isServerUnavailable(err) ? 'unavailable' : 'refused', `${what} (${err.message})`, err, isServerUnavailable(err))
        }
        if (!Array.isArray(reply) || reply.length !== call.length) {
          return fail(call, 'unconfirmed', `Redis answered with ${Array.isArray(reply) ? reply.length : 'no'} replies for ${call.length} entries`, undefined, false)
        }
        return call.map((entry, i) => entryResult(reply[i], messages[entry.index] as OutboxMessage, entry.stream))
      }

      // One round on a single node. In a cluster, a round per run of a key
      // scattered over slots: a round is sent once the previous one was
      // answered, without the keys that failed in it (see planSlotCalls).
      for (const round of planSlotCalls(entries)) {
        const calls = round
          .map((call) =>
            call.filter((entry) => {
              if (entry.key === null || !failedKeys.has(entry.key)) return true
              results[entry.index] = { ok: false, error: heldBack(messages[entry.index] as OutboxMessage) }
              return false
            }),
          )
          .filter((call) => call.length > 0)
        const outcomes = signal.aborted
          ? calls.map((call) => fail(call, 'aborted', 'the publish was aborted before it was sent', signal.reason, true))
          : await Promise.all(calls.map(write))
        calls.forEach((call, c) => {
          call.forEach((entry, i) => {
            const result = (outcomes[c] as PublishResult[])[i] as PublishResult
            results[entry.index] = result
            if (!result.ok && entry.key !== null) failedKeys.add(entry.key)
          })
        })
      }
      return results
    },

    async close() {
      // Nothing to release: the client belongs to the caller.
    },
  }
}

/** The result of one entry from the script's reply: its entry id, '!skip', or '!' and the XADD's error. */
function entryResult(answer: unknown, message: OutboxMessage, stream: string): PublishResult {
  if (answer === '!skip') return { ok: false, error: heldBack(message) }
  if (typeof answer === 'string' && answer.startsWith('!')) {
    // The script catches each XADD's error: an OOM or READONLY reply
    // comes back per entry, and is no more the message's fault there.
    const reply = answer.slice(1)
    const transport = SERVER_UNAVAILABLE.test(reply)
    return { ok: false, error: new RedisPublishError(transport ? 'unavailable' : 'refused', message.messageId, stream, `XADD failed (${reply})`), transport }
  }
  if (typeof answer !== 'string' || answer.length === 0) {
    // Only an entry id confirms the write; anything else is unconfirmed.
    return { ok: false, error: new RedisPublishError('unconfirmed', message.messageId, stream, `XADD returned ${JSON.stringify(answer)} instead of an entry id`) }
  }
  return { ok: true }
}

type StreamOf = (message: OutboxMessage) => string

/**
 * Whether the batch failed for want of a server that takes writes, whatever
 * the messages: the client's own errors (no connection, connection closed,
 * offline queue off), and the replies that say the server cannot take
 * writes now (out of memory, busy with a script, loading, a replica or a
 * cluster without its master, or redirected more often than ioredis follows).
 * Not the messages' fault: no attempt counts.
 */
function isServerUnavailable(error: Error): boolean {
  if (error.name !== 'ReplyError') return true
  return SERVER_UNAVAILABLE.test(error.message)
}

const SERVER_UNAVAILABLE = /^(OOM|BUSY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/

function heldBack(message: OutboxMessage): RedisPublishError {
  return new RedisPublishError('held-back', message.messageId, undefined, 'not written: an earlier message of its key failed in this batch')
}

/** The message's stream, or the error that fails this message alone (a throwing or bad `stream` function). */
function chooseStream(streamOf: StreamOf, message: OutboxMessage): string | Error {
  let stream: unknown
  try {
    stream = streamOf(message)
  } catch (error) {
    return new RedisPublishError('stream-function', message.messageId, undefined, `the stream function threw (${(error as Error)?.message ?? String(error)})`, { cause: error })
  }
  if (typeof stream !== 'string' || stream.length === 0) {
    return new RedisPublishError('stream-function', message.messageId, undefined, `the stream function returned ${JSON.stringify(stream) ?? String(stream)}; it must return a non-empty stream name`)
  }
  return stream
}

