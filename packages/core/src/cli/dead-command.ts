import type { Command } from 'commander'
import { registerDeadListCommand } from './dead-list-command.js'
import { registerDeadPurgeCommand } from './dead-purge-command.js'
import { registerDeadRetryCommand } from './dead-retry-command.js'

/** `txbox dead list|retry|purge`: the messages the relay gave up on. */
export function registerDeadCommand(program: Command): void {
  const dead = program
    .command('dead')
    .description('list, retry or purge dead letters (messages the relay gave up on)')
    .addHelpText(
      'after',
      `
Examples:
  $ txbox dead list
  $ txbox dead retry --id <messageId>
  $ txbox dead purge --topic email.welcome --yes`,
    )
  registerDeadListCommand(dead)
  registerDeadRetryCommand(dead)
  registerDeadPurgeCommand(dead)
}
