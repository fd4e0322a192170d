import { CommanderError } from 'commander'
import { CliError, EXIT } from './cli-error.js'
import { describeError } from './describe-error.js'
import { createProgram } from './program.js'
import { redact } from './redact.js'

// The `txbox` executable. Every error ends as one line on stderr and an exit
// code (0 ok, 1 failure, 2 usage); TXBOX_DEBUG=1 adds the stack trace.

/**
 * Exits once stdout and stderr have handed everything to the OS. Into a pipe,
 * Node writes asynchronously past the pipe's buffer (64 KiB on Linux): an
 * immediate process.exit() would drop the rest (`txbox dead list --json | jq`
 * read a cut JSON text). A write's callback runs after every earlier write.
 */
function exitAfterOutput(code: number): void {
  process.exitCode = code
  const flushed = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      // A closed reader (`| head`) fails the write; there is nothing left to wait for then.
      if (stream.destroyed || stream.writableEnded) resolve()
      else stream.write('', () => resolve())
    })
  Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code))
}

function fail(error: unknown): void {
  process.stderr.write(`${redact(`txbox: ${describeError(error)}`)}\n`)
  if (process.env.TXBOX_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${redact(error.stack)}\n`)
  exitAfterOutput(error instanceof CliError ? error.exitCode : EXIT.failure)
}

// A reader that went away (`txbox dead list | head -1`): stop quietly, as other CLIs do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok)
  else fail(error)
})
process.on('uncaughtException', fail)
process.on('unhandledRejection', fail)

try {
  await createProgram().parseAsync(process.argv)
  exitAfterOutput(EXIT.ok)
} catch (error) {
  // Commander has printed its own message (an unknown option, a missing
  // argument) or the help; only the exit code is left to set.
  if (error instanceof CommanderError) exitAfterOutput(error.exitCode === 0 ? EXIT.ok : EXIT.usage)
  else fail(error)
}
