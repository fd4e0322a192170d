import { type ProcessedMessage, startProcessSpan } from '../tracing/process-span.js'

/** How one handler call ended. */
export type HandlerOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: unknown }
  /** It outlived the timeout: its signal was aborted and it is left running; `settled` tells how it ended, if it ever does. */
  | { readonly ok: false; readonly error: Error; readonly settled: Promise<HandlerOutcome> }

/** What a consumer's handler gets besides the message: the same in every adapter. */
export interface HandlerContext {
  /**
   * Aborts when the handler outlived `handlerTimeoutMs` (the reason is the
   * adapter's handler-timeout error): the delivery already counts as failed,
   * so stop the work (pass the signal to `fetch`, your database driver, ...).
   */
  readonly signal: AbortSignal
}

/** One handler call as every consumer makes it: the user's handler, run inside `wrap` (e.g. `processOnce`) when given. */
export interface HandlerCall<M> {
  readonly message: M
  readonly handler: (message: M, context: HandlerContext) => Promise<void> | void
  readonly wrap: ((message: M, run: () => Promise<void>) => Promise<unknown>) | undefined
  readonly timeoutMs: number
  /** The error the signal aborts with, and the delivery fails with, when the call outlives `timeoutMs`. */
  readonly timeoutError: () => Error
  /** The message as its OpenTelemetry `process` span describes it: given, the call runs in that span (when a tracer provider is registered). */
  readonly messaging?: ProcessedMessage
}

/**
 * Calls the handler (through `wrap`) with a signal, and stops waiting for it
 * after `timeoutMs`: a handler that never settles must not hold its consumer
 * (and with it the messages in hand, its share of the queue and `stop()`)
 * for good. A promise cannot be cancelled, so the late handler keeps running;
 * the signal tells it to give up.
 */
export async function callHandler<M>(call: HandlerCall<M>): Promise<HandlerOutcome> {
  const controller = new AbortController()
  const span = startProcessSpan(call.messaging)
  const run = async () => {
    await call.handler(call.message, { signal: controller.signal })
  }
  const settled: Promise<HandlerOutcome> = (async () => {
    try {
      await span.run(() => (call.wrap ? call.wrap(call.message, run) : run()))
      return { ok: true }
    } catch (error) {
      return { ok: false, error }
    }
  })()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<HandlerOutcome>((resolve) => {
    timer = setTimeout(() => {
      const error = call.timeoutError()
      controller.abort(error)
      resolve({ ok: false, error, settled })
    }, call.timeoutMs)
  })
  try {
    const outcome = await Promise.race([settled, timedOut])
    span.end(outcome.ok ? undefined : outcome.error)
    return outcome
  } finally {
    clearTimeout(timer)
  }
}

/** Whether the outcome is a timeout, whose handler is left running. */
export function timedOut(outcome: HandlerOutcome): outcome is Extract<HandlerOutcome, { settled: Promise<HandlerOutcome> }> {
  return 'settled' in outcome
}
