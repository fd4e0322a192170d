import type { Command } from 'commander'
import type { TableNames } from '../schema/table-names.js'
import { readTopicStatus } from '../sql/cli/read-topic-status.js'
import { runSql } from '../sql/run-sql.js'
import type { SqlRunner } from '../sql-executor.js'
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

async function readTopics(db: SqlRunner, names: TableNames): Promise<TopicRow[]> {
  const { rows } = await runSql(db, readTopicStatus(names))
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
