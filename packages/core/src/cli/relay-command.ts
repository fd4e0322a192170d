import { type Command, Option } from 'commander'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { createRelay } from '../relay/create-relay.js'
import { RELAY_OPTIONS, type RelayOptions } from '../relay/relay-options.js'
import { type BrokerConnection, openBroker } from './broker.js'
import { brokerFlagsFrom } from './broker-flags.js'
import { CliError } from './cli-error.js'
import { createCliLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './cli-logger.js'
import { flagName } from './option-flags.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor, tableOptionsOf } from './common-options.js'
import { type CliDatabase, connectDatabase, databaseUrlFrom } from './database.js'
import { describeError } from './describe-error.js'
import { brokersHelp, knownSchemes } from './known-brokers.js'
import { integerIn } from './numbers.js'
import { redactUrl } from './redact.js'
import { addRelayOptionFlags, type RelayFlagOptions, relayOptionsFromFlags } from './relay-flags.js'
import { type RelayMonitoring, startRelayMonitoring } from './relay-monitoring.js'

interface RelayFlags extends DatabaseFlags {
  brokerUrl?: string
  exchange?: string
  stream?: string
  maxLen?: number
  logFormat: LogFormat
  logLevel: LogLevel
  listen: boolean
  metricsPort?: number
  metricsHost: string
}

/** `txbox relay`: publishes committed outbox messages until SIGTERM or SIGINT. */
export function registerRelayCommand(program: Command): void {
  const command = program
    .command('relay')
    .description('publish committed outbox messages to the broker until stopped (SIGTERM/SIGINT finish the batch in flight, then exit 0)')
    .addOption(new Option('--broker-url <url>', `URL of the broker: ${knownSchemes()} (see below)`).env('TXBOX_BROKER_URL'))
  const relayFlags = addRelayOptionFlags(command)
  command
    .option('--exchange <name>', 'RabbitMQ: the exchange to publish to (required for amqp://)')
    .option('--stream <name>', 'Redis: one stream for every message (default: the message topic)')
    .option('--max-len <n>', 'Redis: trim each stream to about n entries', integerIn(1, Number.MAX_SAFE_INTEGER))
    .addOption(new Option('--log-format <format>', 'log lines for a person, or one JSON object per line').choices(LOG_FORMATS).default('pretty'))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS).default('info'))
    .option('--no-listen', 'poll only: hold no LISTEN connection for wake-up signals')
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics and health at /healthz, /readyz on this port (needs @txbox/prometheus)', integerIn(0, 65_535))
    .option('--metrics-host <host>', 'address the metrics port listens on', '0.0.0.0')
    // The flags of other brokers' adapters (--queue, --subject, ...) reach the adapter, which checks them.
    .allowUnknownOption()
    .allowExcessArguments()
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
The broker's adapter is loaded from your project: txbox uses the installed
@txbox/* adapter whose scheme the broker URL has. The adapters, what to
install for each, and the flags each takes:
${brokersHelp()}

Logs go to stderr.

Examples:
  $ DATABASE_URL=postgres://app@db/app TXBOX_BROKER_URL=redis://cache:6379 txbox relay
  $ txbox relay --broker-url amqp://guest:guest@rabbit:5672 --exchange events
  $ txbox relay --broker-url nats://nats:4222
  $ txbox relay --broker-url bullmq+redis://cache:6379 --queue emails
  $ txbox relay --batch-size 1000 --concurrency 4 --log-format json
  $ txbox relay --metrics-port 9464   # needs: npm install @txbox/prometheus prom-client`,
    )
    .action((flags: RelayFlags, self: Command) => runRelay(flags, relayOptionsFromFlags(command, relayFlags), self.args))
}

async function runRelay(flags: RelayFlags, given: RelayFlagOptions, otherArgs: readonly string[]): Promise<void> {
  const logger = createCliLogger(flags.logFormat, flags.logLevel)
  const databaseUrl = databaseUrlFrom(flags.databaseUrl)
  if (!flags.brokerUrl) {
    throw new CliError('no broker given: set TXBOX_BROKER_URL (redis://host:6379 or amqp://user:password@host:5672) or pass --broker-url.', 'usage')
  }
  const brokerFlags = brokerFlagsFrom(otherArgs, { exchange: flags.exchange, stream: flags.stream, maxLen: flags.maxLen })
  const names = tableNamesFor(flags)
  const broker: BrokerConnection = await openBroker(flags.brokerUrl, brokerFlags, logger)
  let database: CliDatabase | undefined
  let monitoring: RelayMonitoring | undefined
  try {
    // One connection per batch in flight, one for LISTEN, one for promotions and metrics.
    database = await connectDatabase(databaseUrl, {
      max: (given.concurrency ?? (RELAY_OPTIONS.concurrency.default as number)) + 2,
      onConnectionError: (error) => logger.warn({ err: error }, 'txbox relay: a database connection ended'),
    })
    const options: RelayOptions = { ...given, ...tableOptionsOf(names), db: database.db, publisher: broker.publisher, logger }
    if (flags.listen) options.listen = database.pool
    const relay = createRelayFromFlags(options)
    relay.on('published', ({ messages }) => logger.info({ count: messages.length }, `published ${messages.length} message(s)`))

    if (flags.metricsPort !== undefined) {
      monitoring = await startRelayMonitoring(relay, database.db, { port: flags.metricsPort, host: flags.metricsHost, pollInterval: options.pollInterval ?? (RELAY_OPTIONS.pollInterval.default as number) }, logger)
    }
    const stopRequested = onceStopSignal(logger)
    await relay.start()
    logger.info({ broker: broker.description, database: redactUrl(databaseUrl), schema: names.schema }, 'relaying; SIGTERM or Ctrl-C stops after the batch in flight')
    const signal = await stopRequested
    logger.info({ signal }, 'stopping: finishing the batch in flight')
    await relay.stop()
  } finally {
    await monitoring?.close()
    await closeBroker(broker, logger)
    await database?.close()
  }
}

/** createRelay, with a combination of flags it refuses (`--backoff-max-delay` below `--backoff-initial-delay`) as a usage error. */
function createRelayFromFlags(options: RelayOptions): ReturnType<typeof createRelay> {
  try {
    return createRelay(options)
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new CliError(`--${flagName(error.option.split('.'))}: ${error.message}`, 'usage')
    throw error
  }
}

/** How long a stopping relay waits for the broker to answer its goodbye (healthy: a few ms). */
const BROKER_CLOSE_TIMEOUT_MS = 2_000

/**
 * Closes the broker connection, waiting at most {@link BROKER_CLOSE_TIMEOUT_MS}:
 * a frozen broker never answers Redis's QUIT or AMQP's channel.close, and the
 * relay must still exit once asked to (its messages are settled by now).
 */
async function closeBroker(broker: BrokerConnection, logger: ReturnType<typeof createCliLogger>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), BROKER_CLOSE_TIMEOUT_MS)
  })
  const closed = broker.close().then(
    () => 'closed' as const,
    (error) => {
      logger.warn({ err: describeError(error) }, 'closing the broker connection failed')
      return 'failed' as const
    },
  )
  const outcome = await Promise.race([closed, timedOut])
  clearTimeout(timer)
  if (outcome !== 'timeout') return
  logger.warn(
    { broker: broker.description, timeoutMs: BROKER_CLOSE_TIMEOUT_MS },
    `the broker did not answer within ${BROKER_CLOSE_TIMEOUT_MS / 1000}s while closing the connection; dropping it`,
  )
  broker.destroy()
}

/**
 * Resolves with the first SIGTERM or SIGINT. A second one exits at once with
 * code 1: the batch in flight then rolls back and is published again later
 * (at least once), so nothing is lost, only delayed.
 */
function onceStopSignal(logger: ReturnType<typeof createCliLogger>): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false
    const handler = (signal: NodeJS.Signals) => {
      if (received) {
        logger.error({ signal }, 'second signal: exiting now; the batch in flight will be published again later')
        process.exit(1)
      }
      received = true
      resolve(signal)
    }
    process.on('SIGTERM', handler)
    process.on('SIGINT', handler)
  })
}
