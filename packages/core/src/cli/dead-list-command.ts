import type { Command } from 'commander'
import { countDeadLetters } from '../sql/cli/count-dead-letters.js'
import { listDeadLetters } from '../sql/cli/list-dead-letters.js'
import { runSql } from '../sql/run-sql.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
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
      const names = tableNamesFor(flags.schema)
      const { rows, total } = await withDatabase(flags.databaseUrl, async ({ db }) => {
        const topic = flags.topic ?? null
        const list = await runSql(db, listDeadLetters(names, { topic, limit: flags.limit }))
        const count = await runSql(db, countDeadLetters(names, { topic }))
        return { rows: list.rows, total: Number(count.rows[0]?.n ?? 0) }
      })
      if (flags.json) {
        const out = rows.map((r) => ({
          id: r.id,
          messageId: r.message_id,
          topic: r.topic,
          key: r.key,
          attempts: r.attempts,
          lastError: r.last_error,
          createdAt: r.created_at.toISOString(),
          deadAt: r.dead_at.toISOString(),
          payload: JSON.parse(r.payload),
          headers: r.headers === null ? {} : JSON.parse(r.headers),
        }))
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
        return
      }
      if (rows.length === 0) {
        process.stdout.write(`no dead letters${flags.topic === undefined ? '' : ` for topic "${flags.topic}"`}\n`)
        return
      }
      const table = formatTable(
        ['MESSAGE ID', 'TOPIC', 'KEY', 'ATTEMPTS', 'DEAD AT', 'LAST ERROR'],
        rows.map((r) => [r.message_id, r.topic, r.key ?? '-', r.attempts, r.dead_at.toISOString(), errorCell(r.last_error, r.message_id)]),
      )
      const footer = total > rows.length ? `\n${rows.length} of ${total} shown (raise --limit to see more)` : ''
      process.stdout.write(`${table}${footer}\n`)
    })
}

