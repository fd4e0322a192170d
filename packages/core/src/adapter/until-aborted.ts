/** What {@link untilAborted} rejects with when the signal aborted first: the caller tells it from the promise's own errors. */
export const ABORTED: unique symbol = Symbol('txbox.aborted')

/**
 * Resolves or rejects with `promise`, or rejects with {@link ABORTED} as soon
 * as `signal` aborts (at once if it has already): a publish must give up on a
 * broker call when the relay's publish timeout fires, though the call itself
 * cannot be cancelled and is left to settle on its own.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      // addEventListener would never fire for a signal aborted before it: the wait would hang.
      promise.catch(() => {})
      reject(ABORTED)
      return
    }
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
