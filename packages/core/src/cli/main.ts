import { CommanderError } from 'commander'
import { CliError, EXIT } from './cli-error.js'
import { describeError } from './describe-error.js'
import { createProgram } from './program.js'
import { redact } from './redact.js'

// The `txbox` executable. Every error ends as one line on stderr and an exit
// code (0 ok, 1 failure, 2 usage); TXBOX_DEBUG=1 adds the stack trace.

function fail(error: unknown): never {
  process.stderr.write(`${redact(`txbox: ${describeError(error)}`)}\n`)
  if (process.env.TXBOX_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${redact(error.stack)}\n`)
  process.exit(error instanceof CliError ? error.exitCode : EXIT.failure)
}

process.on('uncaughtException', fail)
process.on('unhandledRejection', fail)

try {
  await createProgram().parseAsync(process.argv)
  process.exit(EXIT.ok)
} catch (error) {
  // Commander has printed its own message (an unknown option, a missing
  // argument) or the help; only the exit code is left to set.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage)
  fail(error)
}
