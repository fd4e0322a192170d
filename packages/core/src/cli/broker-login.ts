import { CliError } from './cli-error.js'
import { describeError } from './describe-error.js'

// What the relay's start check prints when a broker answered but did not let
// it in: the broker's own words, and what to check. A broker that does not
// answer at all stays "cannot reach".

/** The CliError for a Redis connection that failed at start with `reason`. */
export function redisStartError(reason: unknown, description: string): CliError {
  const text = describeError(reason)
  if (/^WRONGPASS\b/.test(text)) {
    return new CliError(`Redis at ${description} refused the login (${text}): check the user name and password in the URL.`, 'failure', { cause: reason })
  }
  if (/^NOAUTH\b/.test(text)) {
    // Said in words: a URL with a password in it would be masked in the output.
    return new CliError(`Redis at ${description} wants a password (${text}): put it in the URL, after a colon before the @ (the user name before the colon may be empty).`, 'failure', {
      cause: reason,
    })
  }
  return new CliError(`cannot reach the broker at ${description}: ${text}`, 'failure', { cause: reason })
}

/** The CliError for an AMQP connection to `url` that failed at start with `reason`. */
export function rabbitmqStartError(reason: unknown, url: URL, description: string): CliError {
  const text = describeError(reason)
  if (/ACCESS.REFUSED/.test(text)) {
    return new CliError(`RabbitMQ at ${description} refused the login (${text}): check the user name and password in the URL.`, 'failure', { cause: reason })
  }
  // RabbitMQ closes the connection instead of opening a vhost that does not
  // exist or that the user has no permissions on; amqplib says only
  // "Expected ConnectionOpenOk; got <ConnectionClose channel:0>".
  if (/ConnectionOpenOk|NOT.ALLOWED/.test(text)) {
    const vhost = virtualHost(url)
    const user = decodeURIComponent(url.username) || 'guest'
    return new CliError(
      `RabbitMQ at ${description} did not open the virtual host "${vhost}": check that it exists and that user "${user}" has permissions on it (rabbitmqctl list_permissions -p '${vhost}'). The vhost is the URL's path: amqp://host:5672 alone is "/".`,
      'failure',
      { cause: reason },
    )
  }
  return new CliError(`cannot reach the broker at ${description}: ${text}`, 'failure', { cause: reason })
}

/** The vhost amqplib asks for: the URL's path without its leading slash, decoded; "/" when empty. */
function virtualHost(url: URL): string {
  const path = url.pathname.replace(/^\//, '')
  return path === '' ? '/' : decodeURIComponent(path)
}
