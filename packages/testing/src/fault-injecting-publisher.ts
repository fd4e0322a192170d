import type { OutboxMessage, PublishContext, Publisher, PublishResult } from '@txbox/core'

/**
 * One fault, applied to one publish call. Every fault keeps the Publisher
 * contract the relay relies on: a message is reported `ok` only when the real
 * publisher confirmed it, and a wrapped publisher that promises
 * `stopsKeyOnFailure` still never sends a message after its key failed.
 */
export type PublishFault =
  /** The broker gets the first `delivered` messages; the reply comes only after the relay gave up (its publish timeout). */
  | { readonly kind: 'late-reply'; readonly delivered: number }
  /** Published for real, then the reply is held back `delayMs` (a slow broker; the relay may or may not still wait). */
  | { readonly kind: 'slow-reply'; readonly delayMs: number }
  /** The message at `index` (modulo the call's length) is refused, not sent: a nack, or with `permanent` a refusal for good. */
  | { readonly kind: 'refuse'; readonly index: number; readonly permanent: boolean }
  /** The call throws after the broker got the first `delivered` messages. */
  | { readonly kind: 'throw'; readonly delivered: number }
  /** The connection to the broker is closed while the call is in flight (needs `closeConnection`). */
  | { readonly kind: 'close-connection' }

/** What became of one message of a call, as the wrapper saw it. */
export interface PublishedMessageRecord {
  readonly message: OutboxMessage
  /** Handed to the real publisher: the broker may have it, whatever was reported. */
  readonly forwarded: boolean
  /** The real publisher's answer, when it gave one. */
  readonly inner: 'ok' | 'failed' | 'none'
  /** What the relay was told. */
  readonly reported: 'ok' | 'failed' | 'permanent' | 'held-back' | 'threw'
}

/** One publish call, recorded when it returned (or threw). */
export interface PublishCallRecord {
  readonly startedAt: number
  readonly endedAt: number
  readonly fault: PublishFault | undefined
  readonly messages: readonly PublishedMessageRecord[]
  /** The relay's signal had aborted (its publish timeout) when the call returned: it ignored the answer. */
  readonly timedOut: boolean
  /** The connection was closed while this call was in flight: whatever was sent may have arrived, even twice. */
  readonly connectionClosed: boolean
}

/** A sticky rule: refuse every message it matches, until replaced. */
export type RefusalRule = (message: OutboxMessage) => 'nack' | 'permanent' | undefined

export interface FaultInjectingPublisher extends Publisher {
  /** Queues a fault for the next publish call (one fault per call, in order). */
  inject(fault: PublishFault): void
  /** Refuses matching messages in every call from now on; `undefined` lifts it. */
  refuseWhen(rule: RefusalRule | undefined): void
  /** Drops queued faults and the refusal rule: from now on a plain pass-through. */
  clearFaults(): void
}

export interface FaultInjectingPublisherOptions {
  /** Closes the real publisher's connection (e.g. a TCP proxy's dropAll); needed by 'close-connection'. */
  readonly closeConnection?: () => void | Promise<void>
  /** Told about every call once it returned or threw. */
  readonly onCall?: (record: PublishCallRecord) => void
}

/** Never aborts: what the wrapper passes when the broker must get the messages whatever the relay decides. */
const NEVER = new AbortController().signal

/**
 * Wraps a real publisher (redisStreamsPublisher, rabbitmqPublisher) to
 * inject the faults real brokers have, on command, and records every call so
 * a history checker knows which deliveries a fault can explain. Shared by the
 * fault tests and the randomized checker (test/checker).
 */
export function faultInjectingPublisher(inner: Publisher, options: FaultInjectingPublisherOptions = {}): FaultInjectingPublisher {
  const queued: PublishFault[] = []
  let rule: RefusalRule | undefined
  /** Calls in flight, so a connection closed by one call marks all of them. */
  const inFlight = new Set<{ connectionClosed: boolean }>()

  const closeConnection = async () => {
    if (!options.closeConnection) throw new Error('faultInjectingPublisher: a close-connection fault needs the closeConnection option')
    for (const call of inFlight) call.connectionClosed = true
    await options.closeConnection()
  }

  const publish = async (messages: readonly OutboxMessage[], context: PublishContext): Promise<readonly PublishResult[]> => {
    const fault = queued.shift()
    const startedAt = Date.now()
    const state = { connectionClosed: false }
    inFlight.add(state)
    const records: Omit<PublishedMessageRecord, 'message'>[] = messages.map(() => ({ forwarded: false, inner: 'none', reported: 'failed' }))
    const finish = <T extends readonly PublishResult[] | 'threw'>(results: T): T => {
      inFlight.delete(state)
      options.onCall?.({
        startedAt,
        endedAt: Date.now(),
        fault,
        messages: messages.map((message, i) => {
          const record = records[i] as PublishedMessageRecord
          if (results === 'threw') return { ...record, message, reported: 'threw' }
          return { ...record, message }
        }),
        timedOut: context.signal.aborted,
        connectionClosed: state.connectionClosed,
      })
      return results
    }
    /** Sends `indexes` through the real publisher and notes its answers. */
    const forward = async (indexes: readonly number[], signal: AbortSignal, onSent?: () => Promise<void>): Promise<Map<number, PublishResult>> => {
      const out = new Map<number, PublishResult>()
      if (indexes.length === 0) return out
      for (const i of indexes) records[i] = { ...(records[i] as PublishedMessageRecord), forwarded: true }
      const sending = inner.publish(
        indexes.map((i) => messages[i] as OutboxMessage),
        { signal },
      )
      if (onSent) await onSent()
      let results: readonly PublishResult[]
      try {
        results = await sending
      } catch (error) {
        results = indexes.map(() => ({ ok: false as const, error: error as Error }))
      }
      indexes.forEach((i, at) => {
        const result = results[at] ?? { ok: false as const, error: new Error('no result from the real publisher') }
        records[i] = { ...(records[i] as PublishedMessageRecord), inner: result.ok ? 'ok' : 'failed' }
        out.set(i, result)
      })
      return out
    }
    const report = (i: number, result: PublishResult, heldBack = false): PublishResult => {
      const reported = result.ok ? 'ok' : heldBack ? 'held-back' : result.permanent ? 'permanent' : 'failed'
      records[i] = { ...(records[i] as PublishedMessageRecord), reported }
      return result
    }
    const all = messages.map((_, i) => i)

    try {
      // Refusals (the call's fault, and the sticky rule): not sent, and with a
      // publisher that stops a key on failure, neither are that key's later messages.
      const refused = new Map<number, 'nack' | 'permanent'>()
      if (fault?.kind === 'refuse' && messages.length > 0) refused.set(fault.index % messages.length, fault.permanent ? 'permanent' : 'nack')
      messages.forEach((m, i) => {
        const verdict = rule?.(m)
        if (verdict && !refused.has(i)) refused.set(i, verdict)
      })
      const heldBack = new Set<number>()
      if (inner.stopsKeyOnFailure === true) {
        const failedKeys = new Set<string>()
        messages.forEach((m, i) => {
          if (m.key === null) return
          if (failedKeys.has(m.key) && !refused.has(i)) heldBack.add(i)
          if (refused.has(i)) failedKeys.add(m.key)
        })
      }
      const sendable = all.filter((i) => !refused.has(i) && !heldBack.has(i))

      if (fault?.kind === 'late-reply' || fault?.kind === 'throw') {
        // A prefix reaches the broker whatever the relay decides meanwhile.
        const prefix = sendable.slice(0, Math.max(0, fault.delivered))
        await forward(prefix, NEVER)
        if (fault.kind === 'throw') {
          finish('threw')
          throw new Error(`injected fault: the publisher threw after the broker got ${prefix.length} of ${messages.length} message(s)`)
        }
        await untilAborted(context.signal)
        const tooLate = new Error('injected fault: the broker replied after the publish timeout')
        return finish(all.map((i) => report(i, { ok: false, error: tooLate })))
      }

      const onSent = fault?.kind === 'close-connection' ? closeConnection : undefined
      const results = await forward(sendable, context.signal, onSent)
      if (fault?.kind === 'slow-reply') await delayOrAbort(fault.delayMs, context.signal)
      return finish(
        all.map((i) => {
          const verdict = refused.get(i)
          if (verdict) return report(i, { ok: false, error: new Error(`injected fault: the broker refused message ${messages[i]?.messageId}`), permanent: verdict === 'permanent' })
          if (heldBack.has(i)) return report(i, { ok: false, error: new Error('injected fault: not sent, an earlier message of its key was refused') }, true)
          return report(i, results.get(i) as PublishResult)
        }),
      )
    } catch (error) {
      if (inFlight.has(state)) finish('threw')
      throw error
    }
  }

  return {
    stopsKeyOnFailure: inner.stopsKeyOnFailure,
    publish,
    inject(fault) {
      queued.push(fault)
    },
    refuseWhen(next) {
      rule = next
    },
    clearFaults() {
      queued.length = 0
      rule = undefined
    },
    async close() {
      await inner.close?.()
    },
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

function delayOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
