import type { Hook } from './transaction-scope.js'

/** Runs hooks in order, each awaited; an error goes to `onHookError` and the others still run. */
export async function runHooks(hooks: readonly Hook[], onHookError: (error: unknown) => void): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook()
    } catch (error) {
      try {
        onHookError(error)
      } catch {
        // An error handler that throws must not break the remaining hooks.
      }
    }
  }
}
