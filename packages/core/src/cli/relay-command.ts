import { type Command, Option } from 'commander'
import { createRelay } from '../relay/create-relay.js'
import type { RelayOptions } from '../relay/relay-options.js'
import { type BrokerConnection, openBroker } from './broker.js'
import { CliError } from './cli-error.js'
import { createCliLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './cli-logger.js'
import { addDatabaseOptions, type DatabaseFlags, tableNamesFor } from './common-options.js'
import { type CliDatabase, connectDatabase, databaseUrlFrom } from './database.js'
import { describeError } from './describe-error.js'
import { integerIn } from './numbers.js'
import { redactUrl } from './redact.js'
import { type RelayMonitoring, startRelayMonitoring } from './relay-monitoring.js'

interface RelayFlags extends DatabaseFlags {
  brokerUrl?: string
  batchSize?: number
  concurrency?: number
  pollInterval?: number
  maxAttempts?: number
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
    .addOption(new Option('--broker-url <url>', 'redis://, rediss://, amqp:// or amqps:// URL of the broker').env('TXBOX_BROKER_URL'))
    .option('--batch-size <n>', 'most messages per batch (default: 500)', integerIn(1, 10_000))
    .option('--concurrency <n>', 'batches in flight at once, one connection each (default: 2)', integerIn(1, 64))
    .option('--poll-interval <ms>', 'how often to look for work when no signal arrives (default: 1000)', integerIn(1, 3_600_000))
    .option('--max-attempts <n>', 'tries before a message goes to the dead letters (default: 10)', integerIn(1, 1_000_000))
    .option('--exchange <name>', 'RabbitMQ: the exchange to publish to (required for amqp://)')
    .option('--stream <name>', 'Redis: one stream for every message (default: the message topic)')
    .option('--max-len <n>', 'Redis: trim each stream to about n entries', integerIn(1, Number.MAX_SAFE_INTEGER))
    .addOption(new Option('--log-format <format>', 'log lines for a person, or one JSON object per line').choices(LOG_FORMATS).default('pretty'))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(LOG_LEVELS).default('info'))
    .option('--no-listen', 'poll only: hold no LISTEN connection for wake-up signals')
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics and health at /healthz, /readyz on this port (needs @txbox/prometheus)', integerIn(0, 65_535))
    .option('--metrics-host <host>', 'address the metrics port listens on', '0.0.0.0')
  addDatabaseOptions(command)
    .addHelpText(
      'after',
      `
The broker's adapter is loaded from your project: install @txbox/redis and
ioredis@5 for redis://, or @txbox/rabbitmq and amqplib for amqp://.
Logs go to stderr.

Examples:
  $ DATABASE_URL=postgres://app@db/app TXBOX_BROKER_URL=redis://cache:6379 txbox relay
  $ txbox relay --broker-url amqp://guest:guest@rabbit:5672 --exchange events
  $ txbox relay --batch-size 1000 --concurrency 4 --log-format json
  $ txbox relay --metrics-port 9464   # needs: npm install @txbox/prometheus prom-client`,
    )
    .action(runRelay)
}

async function runRelay(flags: RelayFlags): Promise<void> {
  const logger = createCliLogger(flags.logFormat, flags.logLevel)
  const databaseUrl = databaseUrlFrom(flags.databaseUrl)
  if (!flags.brokerUrl) {
    throw new CliError('no broker given: set TXBOX_BROKER_URL (redis://host:6379 or amqp://user:password@host:5672) or pass --broker-url.', 'usage')
  }
  const names = tableNamesFor(flags.schema)
  const broker: BrokerConnection = await openBroker(flags.brokerUrl, { exchange: flags.exchange, stream: flags.stream, maxLen: flags.maxLen }, logger)
  let database: CliDatabase | undefined
  let monitoring: RelayMonitoring | undefined
  try {
    // One connection per batch in flight, one for LISTEN, one for promotions and metrics.
    database = await connectDatabase(databaseUrl, {
      max: (flags.concurrency ?? 2) + 2,
      onConnectionError: (error) => logger.warn({ err: error }, 'txbox relay: a database connection ended'),
    })
    const options: RelayOptions = { db: database.db, publisher: broker.publisher, schema: names.schema, logger }
    if (flags.batchSize !== undefined) options.batchSize = flags.batchSize
    if (flags.concurrency !== undefined) options.concurrency = flags.concurrency
    if (flags.pollInterval !== undefined) options.pollInterval = flags.pollInterval
    if (flags.maxAttempts !== undefined) options.maxAttempts = flags.maxAttempts
    if (flags.listen) options.listen = database.pool
    const relay = createRelay(options)
    relay.on('published', ({ messages }) => logger.info({ count: messages.length }, `published ${messages.length} message(s)`))

    if (flags.metricsPort !== undefined) {
      monitoring = await startRelayMonitoring(relay, database.db, { port: flags.metricsPort, host: flags.metricsHost, pollInterval: options.pollInterval ?? 1000 }, logger)
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
