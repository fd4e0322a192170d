/**
 * Whether an add failed for want of a Redis that takes writes, whatever the
 * message: the client's own errors (no connection, connection closed, retries
 * given up, offline queue off), and the replies that say the server cannot
 * write now (out of memory, busy with a script, loading, a replica, a cluster
 * without its master). Not the message's fault: the relay spends no attempt.
 *
 * The list is positive on purpose: anything else (a script error such as
 * WRONGTYPE, an option BullMQ refuses) spends attempts and ends in the dead
 * letters, rather than being retried forever without a trace.
 */
export function isTransportError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'ReplyError') return SERVER_UNAVAILABLE.test(error.message)
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ConnectionClosedError') return true
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true
  return CLIENT_GAVE_UP.test(error.message)
}

const SERVER_UNAVAILABLE = /^(OOM|BUSY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED'])

/** ioredis' messages when it has no connection to send on, or lost it with the command in flight. */
const CLIENT_GAVE_UP = /Connection is closed|Stream isn't writeable|enableOfflineQueue|Reached the max retries/i
