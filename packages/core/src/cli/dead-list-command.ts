import type { Command } from 'commander'
import { runSql } from '../sql-executor.js'
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
      const names = tableNamesFor(flags)
      const { rows, total } = await withDatabase(flags.databaseUrl, async ({ db }) => {
        const topic = flags.topic ?? null
        const list = await runSql<{
          id: string
          message_id: string
          topic: string
          key: string | null
          payload: string
          headers: string | null
          attempts: number
          last_error: string | null
          created_at: Date
          dead_at: Date
        }>(
          db,
          // d.id, the bigint: the output column "id" is its text, which would sort 10 before 9.
          `SELECT d.id::text AS id, message_id, topic, key, payload::text, headers::text, attempts, last_error, created_at, dead_at
           FROM ${names.quoted.dead} d WHERE ($1::text IS NULL OR topic = $1::text) ORDER BY d.id LIMIT $2`,
          [topic, flags.limit],
        )
        const count = await runSql<{ n: string }>(db, `SELECT count(*) AS n FROM ${names.quoted.dead} WHERE ($1::text IS NULL OR topic = $1::text)`, [topic])
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

