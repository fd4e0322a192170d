import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'
import { cliPath } from '../support/relay-process.js'
import type { BrokerFixture } from './broker-fixture.js'
import { nOf } from './history-index.js'
import type { DeadSelection, OperatorCommand, RunHistory } from './run-history.js'
import type { Action } from './scenario-model.js'

export interface OperatorContext {
  readonly admin: Kysely<any>
  readonly schema: string
  /** The operator connects as the run's role, with its server settings. */
  readonly roleUrl: string
  readonly broker: BrokerFixture
  readonly history: RunHistory
}

interface DeadRow {
  readonly n: number | null
  readonly messageId: string
  readonly topic: string
}

const CLI_TIMEOUT_MS = 30_000
/** The built CLI: from the sources' location, or as soak.mjs tells it (a bundle lives elsewhere). */
const CLI = process.env.TXBOX_CHECKER_CLI ?? cliPath

/**
 * Runs `txbox dead retry` or `txbox dead purge` (the built CLI, in a child
 * process, while the relays work) on dead letters there now, and records
 * what it did: the dead letters before and after, the commit-order tickets
 * around it, and the broker position once the snapshot was read (whatever it
 * moved back can only be delivered after that).
 */
export async function runDeadCommand(ctx: OperatorContext, action: Extract<Action, { t: 'dead-retry' | 'dead-purge' }>): Promise<void> {
  const startedAt = Date.now()
  const ticketBefore = ctx.history.takeTicket()
  const before = await readDeadLetters(ctx)
  if (before.length === 0) return
  const mark = await ctx.broker.mark()
  const kind = action.t === 'dead-retry' ? 'retry' : 'purge'
  // The ids an operator would look at first: those with several dead letters (an idempotency key reused), then the oldest.
  const perId = new Map<string, number>()
  for (const r of before) perId.set(r.messageId, (perId.get(r.messageId) ?? 0) + 1)
  const distinctIds = [...perId.keys()].sort((a, b) => (perId.get(b) as number) - (perId.get(a) as number))
  let selection: DeadSelection
  if (action.select === 'all') selection = { all: true }
  else if (action.select === 'topic') selection = { topic: (before[0] as DeadRow).topic }
  else selection = { ids: distinctIds.slice(0, kind === 'retry' ? 3 : 1) }
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm build\` first`)
  const args = [CLI, 'dead', kind, '--database-url', ctx.roleUrl, '--schema', ctx.schema]
  if ('all' in selection) args.push('--all')
  else if ('topic' in selection) args.push('--topic', selection.topic)
  else args.push('--id', ...selection.ids)
  if (kind === 'purge' || !('ids' in selection)) args.push('--yes')
  const { exitCode, output } = await runCli(args)
  const ticketAfter = ctx.history.takeTicket()
  const after = await readDeadLetters(ctx)
  const command: OperatorCommand = {
    kind,
    selection,
    startedAt,
    endedAt: Date.now(),
    ticketBefore,
    ticketAfter,
    mark,
    before: before.flatMap((r) => (r.n === null ? [] : [r.n])),
    after: after.flatMap((r) => (r.n === null ? [] : [r.n])),
    exitCode,
    output,
  }
  ctx.history.commands.push(command)
  if (exitCode === null) ctx.history.harnessErrors.push(`txbox dead ${kind} did not finish within ${CLI_TIMEOUT_MS} ms: ${output}`)
  // A usage error is the harness's mistake; a failure (exit 1) may be the server's settings at work, and is noted.
  if (exitCode === 2) ctx.history.harnessErrors.push(`txbox dead ${kind} ${args.slice(3).join(' ')}: usage error: ${output}`)
}

async function readDeadLetters(ctx: OperatorContext): Promise<DeadRow[]> {
  const { rows } = await sql<{ payload: string; message_id: string; topic: string }>`
    select payload::text as payload, message_id, topic from ${sql.id(ctx.schema, 'outbox_dead')} order by id`.execute(ctx.admin)
  return rows.map((r) => ({ n: nOf(r.payload), messageId: r.message_id, topic: r.topic }))
}

function runCli(args: string[]): Promise<{ exitCode: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: CLI_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim().slice(0, 2000)
      if (!error) resolve({ exitCode: 0, output })
      else resolve({ exitCode: typeof error.code === 'number' ? error.code : null, output })
    })
  })
}
