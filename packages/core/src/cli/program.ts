import { createRequire } from 'node:module'
import { Command } from 'commander'
import { registerDeadCommand } from './dead-command.js'
import { registerDoctorCommand } from './doctor-command.js'
import { registerMigrateCommand } from './migrate-command.js'
import { registerRelayCommand } from './relay-command.js'
import { redact } from './redact.js'
import { registerStatusCommand } from './status-command.js'

/** The `txbox` program: commands, help texts and error output (exit handling is the caller's). */
export function createProgram(): Command {
  const program = new Command('txbox')
    .description('Operate a txbox transactional outbox: create its tables, run the relay, inspect the backlog and the dead letters, check the database settings.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand(false)
    // Settings below are copied to every subcommand created after them.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeErr: (text) => process.stderr.write(redact(text)),
      outputError: (text, write) => write(`txbox: ${text.replace(/^error: /, '')}`),
    })
    .addHelpText(
      'after',
      `
Configuration:
  DATABASE_URL       PostgreSQL URL (or --database-url)
  TXBOX_BROKER_URL   broker URL for \`txbox relay\` (or --broker-url)

Exit codes:
  0  success
  1  failure (database or broker unreachable, tables missing, ...)
  2  usage error (unknown option, missing argument, --yes missing)

Passwords in URLs are never printed.`,
    )
  registerMigrateCommand(program)
  registerRelayCommand(program)
  registerStatusCommand(program)
  registerDeadCommand(program)
  registerDoctorCommand(program)
  return program
}

function version(): string {
  // dist/cli/main.js → the package's own package.json.
  const manifest = createRequire(import.meta.url)('../../package.json') as { version: string }
  return manifest.version
}
