import type { OutboxMessage, PublishResult } from '@txbox/core'
import { RabbitmqPublishError, type RabbitmqPublishFailure } from './errors/rabbitmq-publish-error.js'

// The failures a RabbitMQ publish call reports, and which of them are
// transport failures (the broker not reached: no attempt spent).

export function abortError(signal: AbortSignal): RabbitmqPublishError {
  return new RabbitmqPublishError('aborted', `the relay stopped waiting for RabbitMQ's confirm (${describe(signal.reason)}).`, {
    cause: signal.reason,
  })
}

export function failAll(messages: readonly OutboxMessage[], error: Error): PublishResult[] {
  return messages.map(() => markTransport({ ok: false, error }))
}

/** Failures where the broker was not reached: they spend no attempt (see PublishResult.transport). */
const TRANSPORT_FAILURES: ReadonlySet<RabbitmqPublishFailure> = new Set(['channel-closed', 'unavailable', 'aborted', 'closed'])

export function markTransport(result: PublishResult): PublishResult {
  if (result.ok || result.transport !== undefined) return result
  const { error } = result
  if (!(error instanceof RabbitmqPublishError) || !TRANSPORT_FAILURES.has(error.reason)) return result
  // A channel the broker closed with 406 PRECONDITION_FAILED was closed
  // over a message it refused (a header it reads, a body over
  // max_message_size): that spends attempts, or the message would be sent
  // again without end, taking its neighbours down every time.
  if (error.reason === 'channel-closed' && (error.cause as { code?: unknown } | undefined)?.code === 406) return result
  return { ...result, transport: true }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return error === undefined ? 'no reason given' : String(error)
}
