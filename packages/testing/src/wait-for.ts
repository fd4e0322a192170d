/**
 * Polls `condition` until it returns true, or rejects after `timeoutMs`.
 * Tests wait on conditions, never on fixed sleeps.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000
  const intervalMs = options.intervalMs ?? 10
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) {
      throw new Error(`waitFor: condition not met within ${timeoutMs} ms${options.message ? `: ${options.message}` : ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Polls `read` until `accept` holds for its value, and returns that value. */
export async function waitForValue<T>(
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  let last: T | undefined
  await waitFor(
    async () => {
      last = await read()
      return accept(last)
    },
    { ...options, message: `${options.message ?? 'value'} (last: ${JSON.stringify(last)})` },
  )
  return last as T
}
