import { NatsHandlerTimeoutError } from './errors/nats-handler-timeout-error.js'

/** How one handler call ended. */
export type HandlerOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: unknown }
  /** It outlived the timeout: its signal was aborted and it is left running; `settled` tells how it ended, if it ever does. */
  | { readonly ok: false; readonly error: NatsHandlerTimeoutError; readonly settled: Promise<HandlerOutcome> }

/**
 * Calls `handle` with a signal, and stops waiting for it after `timeoutMs`: a
 * handler that never settles must not hold its consumer (and with it the
 * messages in hand and `stop()`) for good. A promise cannot be cancelled, so
 * the late handler keeps running; the signal tells it to give up.
 */
export async function callHandler(handle: (signal: AbortSignal) => Promise<unknown>, messageId: string, timeoutMs: number): Promise<HandlerOutcome> {
  const controller = new AbortController()
  const settled: Promise<HandlerOutcome> = (async () => {
    try {
      await handle(controller.signal)
      return { ok: true }
    } catch (error) {
      return { ok: false, error }
    }
  })()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<HandlerOutcome>((resolve) => {
    timer = setTimeout(() => {
      const error = new NatsHandlerTimeoutError(messageId, timeoutMs)
      controller.abort(error)
      resolve({ ok: false, error, settled })
    }, timeoutMs)
  })
  try {
    return await Promise.race([settled, timedOut])
  } finally {
    clearTimeout(timer)
  }
}
