import type { Command } from 'commander'
import { listDeadLetters } from '../dead-letters/list-dead-letters.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor, tableOptionsOf } from './common-options.js'
import { withDatabase } from './database.js'
import { errorCell } from './error-summary.js'
import { formatTable, integerIn } from './numbers.js'

interface DeadListFlags extends DatabaseFlags {
  topic?: string
  limit: number
  json?: boolean
}

/** `txbox dead list`: the dead letters, oldest first. */
export function registerDeadListCommand(dead: Command): void {
  const command = dead
    .command('list')
    .description('list dead letters, oldest first')
    .option('--topic <topic>', 'only this topic')
    .option('--limit <n>', 'most rows to show', integerIn(1, 100_000), 100)
    .option('--json', 'print a JSON array (with payloads and headers) instead of a table')
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
LAST ERROR is the broker's or the relay's error, on one line and cut to fit;
--json prints it whole (lastError).

Examples:
  $ txbox dead list
  $ txbox dead list --topic email.welcome --limit 20
  $ txbox dead list --json | jq '.[].lastError'`,
    )
    .action(async (flags: DeadListFlags) => {
      const names = tableNamesFor(flags)
      const filter = flags.topic === undefined ? {} : { topic: flags.topic }
      const { rows, total } = await withDatabase(flags.databaseUrl, ({ db }) => listDeadLetters(db, { filter, limit: flags.limit }, tableOptionsOf(names)))
      if (flags.json) {
        // Dates print as ISO text; the payload whole, as JSON.
        const out = rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) }))
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
        return
      }
      if (rows.length === 0) {
        process.stdout.write(`no dead letters${flags.topic === undefined ? '' : ` for topic "${flags.topic}"`}\n`)
        return
      }
      const table = formatTable(
        ['MESSAGE ID', 'TOPIC', 'KEY', 'ATTEMPTS', 'DEAD AT', 'LAST ERROR'],
        rows.map((r) => [r.messageId, r.topic, r.key ?? '-', r.attempts, r.deadAt.toISOString(), errorCell(r.lastError, r.messageId)]),
      )
      const footer = total > rows.length ? `\n${rows.length} of ${total} shown (raise --limit to see more)` : ''
      process.stdout.write(`${table}${footer}\n`)
    })
}

