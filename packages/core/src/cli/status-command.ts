import type { Command } from 'commander'
import type { TableNames } from '../schema/table-names.js'
import { runSql } from '../sql-executor.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
import { withDatabase } from './database.js'
import { errorCell } from './error-summary.js'
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
  /** Held back behind a failed message of their key (due, but waiting for it). */
  heldBack: number
  dead: number
  /**
   * How long ago, in ms, the topic's oldest message that is due (ready, or
   * failed and waiting for its retry) was enqueued; 0 when none is due.
   * Delayed messages whose time has not come are not late and do not count.
   */
  oldestAgeMs: number
  /**
   * The error most recently written to one of the topic's waiting messages
   * (the broker's or the relay's text, whole), or `null` when none of them
   * failed: why the topic waits. A message the broker could not be reached
   * for keeps its error while it waits as ready (no attempt was spent).
   */
  lastError: string | null
}

/** What `txbox status --json` prints: the totals are the sums (and the oldest) of the topic rows. */
interface Status {
  schema: string
  backlog: number
  /** The largest `oldestAgeMs` of the topics: the same age, over the whole outbox. */
  oldestAgeMs: number
  dead: number
  topics: TopicStatus[]
}

/** `txbox status`: the backlog, its age, per-topic counts and the dead letters. */
export function registerStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description('show the outbox backlog, how long its oldest due message has waited, counts per topic and the dead letters')
    .option('--json', 'print one JSON object instead of a table')
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
OLDEST DUE (oldestAgeMs in JSON) is the time since the oldest message that is
due (ready, or failed and waiting for its retry) was enqueued, per topic and
over the outbox. Delayed messages whose time has not come are not late: they
count in BACKLOG and DELAYED only. HELD BACK counts messages waiting behind a
failed message of their key (they go as soon as it is published or dead).

LAST ERROR (lastError in JSON) is the error most recently stored on a waiting
message of the topic: why it waits. The table shows it on one line, cut to
fit; JSON shows it whole.

Examples:
  $ txbox status
  $ txbox status --json | jq .backlog`,
    )
    .action(async (flags: StatusFlags) => {
      const names = tableNamesFor(flags)
      const topics = await withDatabase(flags.databaseUrl, ({ db }) => readTopics(db, names))
      const rows = topics.map((t) => t.status)
      // Totals from the same rows, so that the header and the table never disagree.
      const status: Status = {
        schema: names.schema,
        backlog: sum(rows.map((t) => t.backlog)),
        oldestAgeMs: Math.max(0, ...rows.map((t) => t.oldestAgeMs)),
        dead: sum(rows.map((t) => t.dead)),
        topics: rows,
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
        return
      }
      const lines = [
        `outbox        ${names.quoted.outbox.replaceAll('"', '')}`,
        `backlog       ${status.backlog}${backlogAge(status)}`,
        `dead letters  ${status.dead}`,
      ]
      if (status.topics.length > 0) {
        lines.push(
          '',
          formatTable(
            ['TOPIC', 'BACKLOG', 'READY', 'RETRYING', 'HELD BACK', 'DELAYED', 'DEAD', 'OLDEST DUE', 'LAST ERROR'],
            topics.map(({ status: t, lastErrorMessageId }) => [
              t.topic,
              t.backlog,
              t.ready,
              t.retrying,
              t.heldBack,
              t.delayed,
              t.dead,
              t.backlog > t.delayed ? formatAge(t.oldestAgeMs) : '-',
              errorCell(t.lastError, lastErrorMessageId),
            ]),
          ),
        )
      }
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

/** " (oldest due 3m 20s)", or " (none due yet)" when every waiting message is delayed. */
function backlogAge(status: Status): string {
  if (status.backlog === 0) return ''
  const due = status.backlog - sum(status.topics.map((t) => t.delayed))
  return due > 0 ? ` (oldest due ${formatAge(status.oldestAgeMs)})` : ' (none due yet)'
}

/** A topic's row, and the id of the message its last error is about (the table replaces it by "the message"). */
interface TopicRow {
  status: TopicStatus
  lastErrorMessageId: string | null
}

async function readTopics(db: Parameters<typeof runSql>[0], names: TableNames): Promise<TopicRow[]> {
  // One pass over each table; the status command is for operators, not a hot path.
  const { rows } = await runSql<{
    topic: string
    backlog: string
    ready: string
    retrying: string
    delayed: string
    held_back: string
    dead: string
    oldest_age_ms: number | null
    last_error: string | null
    last_error_message_id: string | null
  }>(
    db,
    `WITH waiting AS (
       SELECT topic,
              count(*) AS backlog,
              count(*) FILTER (WHERE attempts = 0 AND (available_at IS NULL OR available_at <= now())) AS ready,
              count(*) FILTER (WHERE attempts > 0) AS retrying,
              count(*) FILTER (WHERE attempts = 0 AND available_at > now() AND available_at < 'infinity') AS delayed,
              count(*) FILTER (WHERE attempts = 0 AND available_at = 'infinity') AS held_back,
              -- The age that says how late the relay is: of due messages only (ready or retrying), as the relay's metrics.
              (extract(epoch FROM clock_timestamp() - min(created_at) FILTER (
                 WHERE attempts > 0 OR available_at IS NULL OR available_at <= now() OR available_at = 'infinity'
              )) * 1000)::float8 AS oldest_age_ms
       FROM ${names.quoted.outbox} GROUP BY topic
     ), dead AS (
       SELECT topic, count(*) AS dead FROM ${names.quoted.dead} GROUP BY topic
     ), last_error AS (
       -- Rows keep no time of failure, but the relay writes a failed row anew
       -- (with its error) each time: the row written last, the smallest
       -- age(xmin), holds the most recent error.
       SELECT DISTINCT ON (topic) topic, message_id, last_error
       FROM ${names.quoted.outbox} WHERE last_error IS NOT NULL
       ORDER BY topic, age(xmin), id DESC
     )
     SELECT coalesce(w.topic, d.topic) AS topic,
            coalesce(w.backlog, 0) AS backlog, coalesce(w.ready, 0) AS ready,
            coalesce(w.retrying, 0) AS retrying, coalesce(w.delayed, 0) AS delayed, coalesce(w.held_back, 0) AS held_back,
            coalesce(d.dead, 0) AS dead, w.oldest_age_ms,
            e.last_error, e.message_id AS last_error_message_id
     FROM waiting w FULL JOIN dead d ON d.topic = w.topic
     LEFT JOIN last_error e ON e.topic = w.topic
     ORDER BY 1`,
  )
  return rows.map((r) => ({
    status: {
      topic: r.topic,
      backlog: Number(r.backlog),
      ready: Number(r.ready),
      retrying: Number(r.retrying),
      delayed: Number(r.delayed),
      heldBack: Number(r.held_back),
      dead: Number(r.dead),
      oldestAgeMs: Math.max(0, Math.round(r.oldest_age_ms ?? 0)),
      lastError: r.last_error,
    },
    lastErrorMessageId: r.last_error_message_id,
  }))
}
