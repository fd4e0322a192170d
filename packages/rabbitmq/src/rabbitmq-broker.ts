import { type BrokerDescriptor, InvalidOptionError } from '@txbox/core'
import { brokerFlagsOf, redactUrl } from '@txbox/core/adapter'
import { connectAmqp } from './rabbitmq-connect.js'
import { RabbitmqConnectError } from './errors/rabbitmq-connect-error.js'
import { rabbitmqPublisher } from './rabbitmq-publisher.js'

const CONNECT_TIMEOUT_MS = 10_000

const FLAGS = {
  exchange: 'the exchange every message is published to, routing key = topic (required)',
}

/**
 * How tools (the `txbox` CLI) open a RabbitMQ publisher from a URL:
 * `amqp://user:password@host:5672[/vhost]`, or `amqps://` for TLS, with the
 * `exchange` flag. `open` first logs in once and closes again, so that a
 * wrong password or vhost fails at once with a {@link RabbitmqConnectError}
 * saying what to check (RabbitMQ refuses those only in the handshake); the
 * publisher then opens its own connection, and re-opens it after a failure.
 */
export const broker: BrokerDescriptor = {
  name: 'rabbitmq',
  schemes: ['amqp:', 'amqps:'],
  install: 'npm install @txbox/rabbitmq amqplib',
  flags: FLAGS,
  async open(url, { flags }) {
    const { exchange } = brokerFlagsOf('RabbitMQ', FLAGS, flags)
    if (exchange === undefined) {
      throw new InvalidOptionError('exchange', 'an amqp:// broker needs --exchange <name>: the exchange every message is published to (routing key = topic).')
    }
    const description = redactUrl(url)
    await checkLogin(url, description)
    const publisher = rabbitmqPublisher({ url, exchange })
    return {
      publisher,
      description,
      close: async () => {
        await publisher.close?.()
      },
      destroy() {
        // The publisher's connection is its own; exiting the process drops it.
      },
    }
  },
}

/**
 * Opens an AMQP connection to `url` and closes it again: resolves once
 * RabbitMQ accepted the user, the password and the vhost, the way the
 * publisher will connect. A port that answers is not enough: RabbitMQ refuses
 * a wrong login or vhost only in the handshake, and the relay would otherwise
 * log "relaying" and then fail every publish.
 */
async function checkLogin(url: string, description: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const connecting = connectAmqp(url, 'txbox-relay-login-check', { timeout: CONNECT_TIMEOUT_MS })
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)), CONNECT_TIMEOUT_MS)
  })
  try {
    const connection = await Promise.race([connecting, timedOut])
    await connection.close().catch(() => {})
  } catch (error) {
    // A handshake that completes after the timeout: close what it opened.
    connecting.then((late) => late.close()).catch(() => {})
    throw loginError(error, url, description)
  } finally {
    clearTimeout(timer)
  }
}

/** What went wrong at the login, in RabbitMQ's own words, and what to check. */
function loginError(reason: unknown, url: string, description: string): RabbitmqConnectError {
  const text = reason instanceof Error ? reason.message : String(reason)
  if (/ACCESS.REFUSED/.test(text)) {
    return new RabbitmqConnectError(description, `RabbitMQ at ${description} refused the login (${text}): check the user name and password in the URL.`, { cause: reason })
  }
  // RabbitMQ closes the connection instead of opening a vhost that does not
  // exist or that the user has no permissions on; amqplib says only
  // "Expected ConnectionOpenOk; got <ConnectionClose channel:0>".
  if (/ConnectionOpenOk|NOT.ALLOWED/.test(text)) {
    const parsed = new URL(url)
    const path = parsed.pathname.replace(/^\//, '')
    const vhost = path === '' ? '/' : decodeURIComponent(path)
    const user = decodeURIComponent(parsed.username) || 'guest'
    return new RabbitmqConnectError(
      description,
      `RabbitMQ at ${description} did not open the virtual host "${vhost}": check that it exists and that user "${user}" has permissions on it (rabbitmqctl list_permissions -p '${vhost}'). The vhost is the URL's path: amqp://host:5672 alone is "/".`,
      { cause: reason },
    )
  }
  return new RabbitmqConnectError(description, `cannot reach the broker at ${description}: ${text}`, { cause: reason })
}
