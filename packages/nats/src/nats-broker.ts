import { type BrokerConnection, type BrokerDescriptor, type BrokerOpenOptions, InvalidOptionError, type Logger } from '@txbox/core'
import { brokerFlagsOf } from '@txbox/core/adapter'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { NatsConnectError } from './errors/nats-connect-error.js'
import { natsPublisher } from './nats-publisher.js'
import { subjectProblem } from './nats-subject.js'
import { parseNatsUrl } from './nats-url.js'
import { describe } from './publish-failure.js'

const CONNECT_TIMEOUT_MS = 10_000
const INSTALL = 'npm install @txbox/nats @nats-io/transport-node @nats-io/jetstream'
const FLAGS: Readonly<Record<string, string>> = {
  subject: 'The subject every message is published to (default: its topic); a JetStream stream must capture it.',
}

/**
 * The NATS JetStream broker, for tools that open a publisher from a URL (the
 * `txbox` CLI): `nats://host:4222`, `nats://user:password@host:4222`,
 * `nats://token@host:4222`, or several comma-separated for a cluster.
 *
 * `open()` connects (failing within 10 s when NATS is not reachable, refuses
 * the credentials, or has no JetStream for the account; with a `subject`
 * flag, also when no stream captures that subject) and returns a
 * {@link natsPublisher} on its own connection, which nats.js reconnects after
 * a network failure (logged at `warn`). `close()` drains and closes it.
 */
export const broker: BrokerDescriptor = {
  name: 'nats',
  schemes: ['nats:'],
  install: INSTALL,
  flags: FLAGS,
  open: openNats,
}

async function openNats(url: string, options: BrokerOpenOptions): Promise<BrokerConnection> {
  const { logger } = options
  const { subject } = brokerFlagsOf('NATS', FLAGS, options.flags)
  if (subject !== undefined) {
    const problem = subjectProblem(subject)
    if (problem) throw new InvalidOptionError('subject', `--subject "${subject}" cannot be published to: ${problem}.`)
  }
  let address: ReturnType<typeof parseNatsUrl>
  try {
    address = parseNatsUrl(url)
  } catch (error) {
    throw new NatsConnectError(`the broker URL is not a NATS URL: ${describe(error)}.`)
  }
  const { servers, user, pass, token, description } = address
  let connect: (typeof import('@nats-io/transport-node'))['connect']
  try {
    ;({ connect } = await import('@nats-io/transport-node'))
  } catch (error) {
    throw new NatsConnectError(`a nats:// broker needs the NATS client in your project: ${INSTALL}`, { cause: error })
  }
  let nc: NatsConnection
  try {
    nc = await connect({ servers, user, pass, token, name: 'txbox-relay', timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1 })
  } catch (error) {
    throw new NatsConnectError(
      `cannot connect to NATS at ${description}: ${describe(error)}. Check the host and port, and the user and password (or token) in the URL.`,
      { cause: error },
    )
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS })
    if (subject !== undefined) {
      try {
        await jsm.streams.find(subject)
      } catch (error) {
        throw new NatsConnectError(`no JetStream stream on ${description} captures the subject "${subject}" (--subject); create one whose subjects include it.`, { cause: error })
      }
    }
  } catch (error) {
    await nc.close().catch(() => {})
    if (error instanceof NatsConnectError) throw error
    throw new NatsConnectError(
      `connected to NATS at ${description}, but JetStream does not answer (${describe(error)}); start the server with JetStream enabled (nats-server -js) and check that the account has JetStream.`,
      { cause: error },
    )
  }
  void reportStatus(nc, description, logger)
  const publisher = natsPublisher({ connection: nc, ...(subject !== undefined ? { subject } : {}) })
  return {
    publisher,
    description,
    async close() {
      await publisher.close?.()
      // The publisher never closes a connection it was given; this one is ours.
      await nc.drain().catch(() => nc.close())
    },
    destroy() {
      void nc.close().catch(() => {})
    },
  }
}

/** Says when the connection is lost and back, once each: the relay logs every batch that fails meanwhile. */
async function reportStatus(nc: NatsConnection, description: string, logger: Logger): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') logger.warn({ broker: description }, 'lost the connection to NATS; reconnecting')
    else if (status.type === 'reconnect') logger.info({ broker: description }, 'reconnected to NATS')
    else if (status.type === 'error') logger.error({ broker: description, err: (status as { error?: unknown }).error }, 'NATS connection error')
  }
}
