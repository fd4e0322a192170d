import type { Command } from 'commander'
import { readOutboxStats } from '../relay/relay-metrics.js'
import type { TableNames } from '../schema/table-names.js'
import { runSql } from '../sql-executor.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
import { withDatabase } from './database.js'
import { formatAge, formatTable } from './numbers.js'

interface StatusFlags extends DatabaseFlags {
  json?: boolean
}

/** One topic's share of the outbox and the dead letters. */
interface TopicStatus {
  topic: string
  /** Messages waiting in the outbox (ready + retrying + delayed). */
  backlog: number
  ready: number
  /** Failed at least once, waiting for their next attempt. */
  retrying: number
  /** Enqueued with a delay that has not passed yet. */
  delayed: number
  dead: number
  /** Age of the topic's oldest waiting message, in ms; 0 when none. */
  oldestAgeMs: number
}

/** `txbox status`: the backlog, its age, per-topic counts and the dead letters. */
export function registerStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description('show the outbox backlog, the oldest waiting message, counts per topic and the dead letters')
    .option('--json', 'print one JSON object instead of a table')
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  $ txbox status
  $ txbox status --json | jq .backlog`,
    )
    .action(async (flags: StatusFlags) => {
      const names = tableNamesFor(flags.schema)
      const status = await withDatabase(flags.databaseUrl, async ({ db }) => {
        const totals = await readOutboxStats(db, names)
        return { schema: names.schema, ...totals, topics: await readTopics(db, names) }
      })
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
        return
      }
      const lines = [
        `outbox        ${names.quoted.outbox.replaceAll('"', '')}`,
        `backlog       ${status.backlog}${status.backlog > 0 ? ` (oldest ${formatAge(status.oldestAgeMs)})` : ''}`,
        `dead letters  ${status.dead}`,
      ]
      if (status.topics.length > 0) {
        lines.push(
          '',
          formatTable(
            ['TOPIC', 'BACKLOG', 'READY', 'RETRYING', 'DELAYED', 'DEAD', 'OLDEST'],
            status.topics.map((t) => [t.topic, t.backlog, t.ready, t.retrying, t.delayed, t.dead, t.backlog > 0 ? formatAge(t.oldestAgeMs) : '-']),
          ),
        )
      }
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}

async function readTopics(db: Parameters<typeof runSql>[0], names: TableNames): Promise<TopicStatus[]> {
  // One pass over each table; the status command is for operators, not a hot path.
  const { rows } = await runSql<{
    topic: string
    backlog: string
    ready: string
    retrying: string
    delayed: string
    dead: string
    oldest_age_ms: number | null
  }>(
    db,
    `WITH waiting AS (
       SELECT topic,
              count(*) AS backlog,
              count(*) FILTER (WHERE attempts = 0 AND (available_at IS NULL OR available_at <= now())) AS ready,
              count(*) FILTER (WHERE attempts > 0) AS retrying,
              count(*) FILTER (WHERE attempts = 0 AND available_at > now()) AS delayed,
              (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 AS oldest_age_ms
       FROM ${names.quoted.outbox} GROUP BY topic
     ), dead AS (
       SELECT topic, count(*) AS dead FROM ${names.quoted.dead} GROUP BY topic
     )
     SELECT coalesce(w.topic, d.topic) AS topic,
            coalesce(w.backlog, 0) AS backlog, coalesce(w.ready, 0) AS ready,
            coalesce(w.retrying, 0) AS retrying, coalesce(w.delayed, 0) AS delayed,
            coalesce(d.dead, 0) AS dead, w.oldest_age_ms
     FROM waiting w FULL JOIN dead d ON d.topic = w.topic
     ORDER BY 1`,
  )
  return rows.map((r) => ({
    topic: r.topic,
    backlog: Number(r.backlog),
    ready: Number(r.ready),
    retrying: Number(r.retrying),
    delayed: Number(r.delayed),
    dead: Number(r.dead),
    oldestAgeMs: Math.max(0, Math.round(r.oldest_age_ms ?? 0)),
  }))
}
