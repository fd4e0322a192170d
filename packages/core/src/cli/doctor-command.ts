import { type Command, InvalidArgumentError } from 'commander'
import { CliError } from './cli-error.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
import { databaseUrlFrom, withDatabase } from './database.js'
import { describeError } from './describe-error.js'
import { checkAutovacuum } from './doctor/check-autovacuum.js'
import { checkBacklog } from './doctor/check-backlog.js'
import { checkListen } from './doctor/check-listen.js'
import { checkSchema } from './doctor/check-schema.js'
import { checkTimeouts } from './doctor/check-timeouts.js'
import { checkXminHorizon } from './doctor/check-xmin-horizon.js'
import { type DoctorCheck, type DoctorContext, type Finding, finding } from './doctor/finding.js'
import { integerIn } from './numbers.js'
import { redactUrl } from './redact.js'

interface DoctorFlags extends DatabaseFlags {
  json?: boolean
  strict?: boolean
  skip: string[]
  publishTimeout: number
  maxTransactionAge: number
  maxLag: number
  listenTimeout: number
}

/** The checks, in the order they run and print. Those that read the outbox run only once the schema check found its tables. */
const CHECKS: readonly { name: string; run: DoctorCheck; needsTables: boolean }[] = [
  { name: 'schema', run: checkSchema, needsTables: false },
  { name: 'autovacuum', run: checkAutovacuum, needsTables: true },
  { name: 'xmin-horizon', run: checkXminHorizon, needsTables: false },
  { name: 'listen', run: checkListen, needsTables: false },
  { name: 'timeouts', run: checkTimeouts, needsTables: false },
  { name: 'backlog', run: checkBacklog, needsTables: true },
]
const CHECK_NAMES = CHECKS.map((c) => c.name)

/** `txbox doctor`: checks what makes an outbox fail slowly and says what to do. */
export function registerDoctorCommand(program: Command): void {
  const command = program
    .command('doctor')
    .description('check the database settings an outbox depends on and say what to do; exit 1 on a problem')
    .option('--json', 'print one JSON object instead of lines')
    .option('--strict', 'exit 1 on warnings too')
    .option('--skip <checks>', `checks to leave out, comma-separated: ${CHECK_NAMES.join(', ')}`, skipList, [])
    .option('--publish-timeout <ms>', "the relays' publishTimeout, which the server's timeouts are compared with", integerIn(1, 3_600_000), 30_000)
    .option('--max-transaction-age <ms>', 'a transaction open longer than this pins the xmin horizon', integerIn(0, 86_400_000), 300_000)
    .option('--max-lag <ms>', 'the oldest due message may wait this long', integerIn(0, 86_400_000), 60_000)
    .option('--listen-timeout <ms>', 'how long a NOTIFY may take to reach LISTEN', integerIn(1, 60_000), 3_000)
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
Checks: schema (version, pending migrations), autovacuum (of the server and
the outbox table), xmin-horizon (long transactions, prepared transactions and
replication slots that keep VACUUM from removing the outbox's deleted rows),
listen (a NOTIFY/LISTEN round trip: a transaction-mode pooler drops LISTEN),
timeouts (idle_in_transaction_session_timeout, statement_timeout and
transaction_timeout against --publish-timeout), backlog (lag, dead letters).

Each finding is ok, warning or problem, and says what to do. Exit codes: 0 no
problem, 1 a problem (or a warning, with --strict), 2 usage error.

Examples:
  $ txbox doctor
  $ txbox doctor --json | jq '.findings[] | select(.status != "ok")'
  $ txbox doctor --skip listen --max-lag 300000`,
    )
    .action(runDoctor)
}

async function runDoctor(flags: DoctorFlags): Promise<void> {
  const names = tableNamesFor(flags.schema)
  const url = databaseUrlFrom(flags.databaseUrl)
  const findings = await withDatabase(
    flags.databaseUrl,
    async ({ db, pool }) => {
      const context: DoctorContext = {
        db,
        pool,
        names,
        publishTimeoutMs: flags.publishTimeout,
        maxTransactionAgeMs: flags.maxTransactionAge,
        maxLagMs: flags.maxLag,
        listenTimeoutMs: flags.listenTimeout,
      }
      const out: Finding[] = []
      let tablesFound = true
      for (const check of CHECKS) {
        if (flags.skip.includes(check.name)) continue
        if (check.needsTables && !tablesFound) {
          out.push(finding(check.name, 'skipped', 'the outbox tables are missing', 'run `txbox migrate`, then `txbox doctor` again'))
          continue
        }
        const found = await check.run(context).catch((error: unknown) => [
          finding(check.name, 'problem', `the check failed: ${describeError(error)}`, 'make sure the database user may read pg_stat_activity, pg_settings and the txbox tables'),
        ])
        if (check.name === 'schema' && found.some((f) => f.status === 'problem' && !/pending/.test(f.summary))) tablesFound = false
        out.push(...found)
      }
      return out
    },
    3,
  )
  const problems = findings.filter((f) => f.status === 'problem').length
  const warnings = findings.filter((f) => f.status === 'warning').length
  const failed = problems > 0 || (flags.strict === true && warnings > 0)
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ok: !failed, problems, warnings, schema: names.schema, findings }, null, 2)}\n`)
  } else {
    process.stdout.write(formatFindings(findings, `schema "${names.schema}" on ${redactUrl(url)}`))
    process.stdout.write(`\n${problems} problem(s), ${warnings} warning(s)\n`)
  }
  if (failed) throw new CliError(`doctor found ${problems} problem(s)${flags.strict ? ` and ${warnings} warning(s)` : ''}; see above for what to do.`)
}

function formatFindings(findings: readonly Finding[], what: string): string {
  const width = Math.max(...CHECK_NAMES.map((n) => n.length))
  const lines = [`txbox doctor: ${what}`, '']
  for (const f of findings) {
    lines.push(`${f.status.padEnd(8)} ${f.check.padEnd(width)}  ${f.summary}`)
    if (f.advice && f.status !== 'ok') lines.push(`${' '.repeat(8 + width + 3)}→ ${f.advice}`)
  }
  return `${lines.join('\n')}\n`
}

function skipList(value: string, previous: string[]): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = names.filter((n) => !CHECK_NAMES.includes(n))
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown check ${unknown.join(', ')}; the checks are ${CHECK_NAMES.join(', ')}.`)
  return [...previous, ...names]
}
