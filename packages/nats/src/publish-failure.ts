import type { NatsPublishFailure } from './errors/nats-publish-error.js'

/**
 * JetStream API errors (`err_code`) that say JetStream cannot store anything
 * now, whatever the message: the server is the problem, not the message, so
 * they spend no attempt (see PublishResult.transport), as Redis' OOM does.
 * A full stream (`discard: new`) is not among them: it is one destination,
 * and RabbitMQ's full queue (a nack) spends attempts too.
 */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  10008, // JetStream system temporarily unavailable (no meta leader, stream leader election)
  10023, // insufficient resources
  10028, // insufficient memory resources available
  10039, // JetStream not enabled for account
  10047, // insufficient storage resources available
  10076, // JetStream not enabled
])

/** Why a `js.publish` rejected, in our words. The client is matched by error names, not classes, so that two copies of nats.js still agree. */
export function publishFailure(error: unknown): { readonly reason: NatsPublishFailure; readonly detail: string } {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown } | null
  const name = typeof e?.name === 'string' ? e.name : ''
  const detail = describe(error)
  if (name === 'JetStreamNotEnabled' && isNoResponders(e?.cause)) {
    // The client names a "503 no responders" answer so; on a server with JetStream on, it means that no stream captures the subject.
    return { reason: 'no-stream', detail: 'no responders: no JetStream stream captures the subject' }
  }
  if (name === 'NoRespondersError' || isNoResponders(e)) return { reason: 'no-stream', detail: 'no responders: no JetStream stream captures the subject' }
  if (name === 'JetStreamNotEnabled') return { reason: 'unavailable', detail }
  if (typeof e?.code === 'number' && name.endsWith('ApiError')) {
    return { reason: UNAVAILABLE_CODES.has(e.code) ? 'unavailable' : 'refused', detail: `${detail} (JetStream error ${e.code})` }
  }
  if (name === 'TimeoutError') return { reason: 'timeout', detail }
  if (name === 'InvalidArgumentError' || name === 'InvalidSubjectError') return { reason: 'unpublishable', detail }
  if (name === 'PermissionViolationError') return { reason: 'refused', detail }
  // ClosedConnectionError, DrainingConnectionError, ConnectionError, and what else the client throws when it cannot send.
  return { reason: 'connection', detail }
}

/** Failures where JetStream was not reached, or could not store anything: no attempt spent. */
export const TRANSPORT_FAILURES: ReadonlySet<NatsPublishFailure> = new Set(['unavailable', 'timeout', 'connection', 'aborted'])

function isNoResponders(error: unknown): boolean {
  const e = error as { isNoResponders?: unknown; name?: unknown } | null | undefined
  if (e?.name === 'NoRespondersError') return true
  return typeof e?.isNoResponders === 'function' && (e.isNoResponders as () => boolean)() === true
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return error === undefined ? 'no reason given' : String(error)
}
