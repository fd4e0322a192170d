import type { Command } from 'commander'
import { runSql } from '../sql-executor.js'
import { withTransaction } from '../transaction/with-transaction.js'
import { CliError } from './cli-error.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
import { withDatabase } from './database.js'
import { deadSelection, describeSelection, missingIds, type SelectionFlags, selectionWhere } from './dead-selection.js'

type DeadRetryFlags = DatabaseFlags & SelectionFlags

/**
 * `txbox dead retry`: moves dead letters back into the outbox, as new rows
 * (new sequence id, attempts 0) with the same message id, topic, key, payload
 * and headers, and deletes them from the dead letters, in one transaction.
 */
export function registerDeadRetryCommand(dead: Command): void {
  const command = dead
    .command('retry')
    .description('move dead letters back into the outbox to be published again (same message ids)')
    .option('--id <messageId...>', 'the dead letters with these message ids')
    .option('--topic <topic>', 'every dead letter of this topic (needs --yes)')
    .option('--all', 'every dead letter (needs --yes)')
    .option('--yes', 'confirm a retry by --topic or --all')
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
A retried message goes to the end of its key's queue: messages of the same key
published after it died stay published before it.

Examples:
  $ txbox dead retry --id 01890a5d-ac96-774b-bcce-b302099a8057
  $ txbox dead retry --topic email.welcome --yes
  $ txbox dead retry --all --yes`,
    )
    .action(async (flags: DeadRetryFlags) => {
      const selection = deadSelection('retry', flags)
      if (selection.kind !== 'ids' && !flags.yes) {
        throw new CliError(`dead retry: this re-publishes ${describeSelection(selection)}; add --yes to confirm.`, 'usage')
      }
      const names = tableNamesFor(flags.schema)
      // The lock statement passes the lock space as $1; the move statement has no other parameter.
      const lockWhere = selectionWhere(selection, 2)
      const where = selectionWhere(selection, 1)
      const result = await withDatabase(flags.databaseUrl, ({ db }) =>
        withTransaction(db, async (trx) => {
          // Per-key commit order: the same key lock enqueue takes, in the same
          // (hash) order, before any new sequence id is drawn.
          await runSql(
            trx,
            `SELECT count(pg_advisory_xact_lock($1::int, k.h))
             FROM (SELECT DISTINCT hashtext(key) AS h FROM ${names.quoted.dead} WHERE key IS NOT NULL AND ${lockWhere.sql} ORDER BY 1) AS k`,
            [names.locks.keys, ...lockWhere.params],
          )
          const { rows } = await runSql<{ picked: string[] | null; moved: string[] | null }>(
            trx,
            `WITH picked AS (
               SELECT id, message_id, topic, key, payload, headers FROM ${names.quoted.dead}
               WHERE ${where.sql} ORDER BY id FOR UPDATE
             ), moved AS (
               INSERT INTO ${names.quoted.outbox} (message_id, topic, key, payload, headers)
               SELECT message_id, topic, key, payload, headers FROM picked ORDER BY id
               ON CONFLICT (message_id) DO NOTHING
               RETURNING message_id
             ), removed AS (
               DELETE FROM ${names.quoted.dead} d USING picked p, moved m
               WHERE d.id = p.id AND m.message_id = p.message_id
               RETURNING d.message_id
             )
             SELECT (SELECT array_agg(message_id) FROM picked) AS picked,
                    (SELECT array_agg(message_id) FROM removed) AS moved`,
            where.params,
          )
          const moved = rows[0]?.moved ?? []
          // A running relay wakes now instead of at its next poll.
          if (moved.length > 0) await runSql(trx, 'SELECT pg_notify($1, $2)', [names.channel, ''])
          return { picked: rows[0]?.picked ?? [], moved }
        }),
      )
      const movedSet = new Set(result.moved)
      const skipped = result.picked.filter((id) => !movedSet.has(id))
      const missing = missingIds(selection, result.picked)
      process.stdout.write(`moved ${result.moved.length} dead letter(s) back into the outbox\n`)
      if (skipped.length > 0) {
        process.stderr.write(`txbox: kept ${skipped.length} dead letter(s) whose message id is already in the outbox: ${skipped.join(', ')}\n`)
      }
      if (missing.length > 0) throw new CliError(`no dead letter with message id ${missing.join(', ')}`)
    })
}
