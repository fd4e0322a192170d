const DRAIN_TIMEOUT_MS = 600_000

/**
 * Resolves once `start` calls its `done` (a drainer reporting the last
 * message confirmed), or rejects after the drain timeout or when `start` fails.
 */
export function untilDone(start: (done: () => void) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drain did not finish within ${DRAIN_TIMEOUT_MS} ms`)), DRAIN_TIMEOUT_MS)
    start(() => {
      clearTimeout(timer)
      resolve()
    }).catch((error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}
