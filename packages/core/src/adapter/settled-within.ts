/**
 * `{ value }` if `promise` resolved within `ms`, `{ error }` if it rejected,
 * `undefined` if neither: the promise is then left to settle on its own
 * (its rejection is observed, never unhandled). For bounded waits on a broker
 * that may never answer (a frozen server, a lost connection).
 */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise.then((value) => ({ value }), (error: unknown) => ({ error })), late])
  } finally {
    clearTimeout(timer)
  }
}
