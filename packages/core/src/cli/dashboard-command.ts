import { randomBytes } from 'node:crypto'
import { type Command, Option } from 'commander'
import { CliError } from './cli-error.js'
import { createCliLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './cli-logger.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor, tableOptionsOf } from './common-options.js'
import { connectDatabase, databaseUrlFrom } from './database.js'
import { describeError } from './describe-error.js'
import { importFromProject } from './import-from-project.js'
import { integerIn } from './numbers.js'
import { redactUrl } from './redact.js'
import { settledWithin } from '../adapter/settled-within.js'

interface DashboardFlags extends DatabaseFlags {
  port: number
  host: string
  token?: string
  allowChanges?: boolean
  logFormat: LogFormat
  logLevel: LogLevel
}

/**
 * `txbox dashboard`: serves the page of @txbox/dashboard (loaded from the
 * user's project, like the broker adapters: the core carries no front end)
 * until SIGTERM or SIGINT.
 */
export function registerDashboardCommand(program: Command): void {
  const command = program
    .command('dashboard')
    .description('serve a web page showing the outbox and its dead letters (needs @txbox/dashboard); read-only unless --allow-changes')
    .option('--port <port>', 'port to listen on (0: any free port)', integerIn(0, 65_535), 4545)
    .option('--host <host>', 'address to listen on (loopback by default: put your own proxy in front to expose it)', '127.0.0.1')
    .addOption(new Option('--token <token>', 'access token the page asks for, at least 16 characters (default: a random one, printed with the URL)').env('TXBOX_DASHBOARD_TOKEN'))
    .option('--allow-changes', 'let the page retry and purge dead letters (every change is logged)')
    .addOption(new Option('--log-format <format>', 'log lines for a person, or one JSON object per line').choices(LOG_FORMATS).default('pretty'))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS).default('info'))
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
Without --token (or TXBOX_DASHBOARD_TOKEN) a random token is made and the URL
to open, with it, is printed on stdout. The database URL never reaches the page.

Examples:
  $ npm install @txbox/dashboard
  $ txbox dashboard --port 4545
  $ TXBOX_DASHBOARD_TOKEN="$(openssl rand -hex 16)" txbox dashboard --allow-changes`,
    )
    .action(runDashboard)
}

async function runDashboard(flags: DashboardFlags): Promise<void> {
  const logger = createCliLogger(flags.logFormat, flags.logLevel)
  const databaseUrl = databaseUrlFrom(flags.databaseUrl)
  const names = tableNamesFor(flags)
  if (flags.token !== undefined && flags.token.length < 16) throw new CliError('--token: use at least 16 characters (or leave it out for a random one).', 'usage')
  const dashboard = await importFromProject('@txbox/dashboard', 'txbox dashboard', 'npm install @txbox/dashboard')
  const token = flags.token ?? randomBytes(24).toString('base64url')
  // Page loads, the sampler and a change can run at once.
  const database = await connectDatabase(databaseUrl, { max: 4 })
  let server: { url: string; close(): Promise<void> } | undefined
  try {
    try {
      server = await dashboard.serveDashboard({ db: database.db, ...tableOptionsOf(names), port: flags.port, host: flags.host, token, allowChanges: flags.allowChanges === true, logger })
    } catch (error) {
      throw new CliError(`cannot serve the dashboard on ${flags.host}:${flags.port}: ${describeError(error)}`, 'failure', { cause: error })
    }
    const url = server?.url as string
    logger.info(
      { url, database: redactUrl(databaseUrl), schema: names.schema, allowChanges: flags.allowChanges === true },
      `dashboard at ${url}/ (${flags.allowChanges ? 'changes allowed' : 'read-only'}); SIGTERM or Ctrl-C stops it`,
    )
    // stdout, unredacted: the log's redaction would mask the token the user needs.
    if (flags.token === undefined) process.stdout.write(`open ${url}/?token=${token}\n`)
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve())
      process.once('SIGINT', () => resolve())
    })
    logger.info({}, 'stopping the dashboard')
  } finally {
    // Bounded: a query stuck behind a lock, or on a network that went silent,
    // must not keep the process from exiting when it is told to stop.
    const closing = (async () => {
      await server?.close()
      await database.close()
    })()
    if ((await settledWithin(closing, SHUTDOWN_BOUND_MS)) === undefined) {
      logger.warn({ afterMs: SHUTDOWN_BOUND_MS }, 'the dashboard did not close within the bound (a query still runs); exiting without it')
    }
  }
}

/** How long a stop waits for requests and queries in flight. */
const SHUTDOWN_BOUND_MS = 5_000
