/** Exit codes of the `txbox` command (documented in `txbox --help` and docs/cli.md). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

/**
 * An error the CLI reports as one line on stderr, without a stack trace:
 * `usage` for a wrong invocation (exit 2), `failure` for anything else (exit 1).
 */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, kind: 'usage' | 'failure' = 'failure', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.exitCode = kind === 'usage' ? EXIT.usage : EXIT.failure
  }
}
