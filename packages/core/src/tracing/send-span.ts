import type { Link, Span } from '@opentelemetry/api'
import type { OutboxMessage, Publisher, PublishResult } from '../publisher.js'
import {
  ERROR_TYPE,
  errorType,
  MESSAGING_BATCH_MESSAGE_COUNT,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  TXBOX_SYSTEM,
} from './messaging-attributes.js'
import { creationContext } from './creation-context.js'
import { type OpenTelemetryApi, tracer, tracingApi } from './opentelemetry.js'

/**
 * Runs one `publisher.publish` call inside a `send` span (OpenTelemetry
 * messaging conventions) when a tracer provider is registered; otherwise just
 * runs it.
 *
 * The span starts a trace of its own: the relay works for many requests at
 * once, and its cycle may even run in the async context of whichever commit
 * woke it. It links to each message's creation context (the `create` span of
 * its enqueue, read back from its headers), and is a CLIENT span: that
 * creation context, not this span's, is what the broker message carries.
 */
export function tracePublish(
  publisher: Publisher,
  messages: readonly OutboxMessage[],
  signal: AbortSignal,
  publish: () => Promise<readonly PublishResult[]>,
): Promise<readonly PublishResult[]> {
  const otel = tracingApi()
  if (otel === null) return publish()
  const span = startSendSpan(otel, publisher, messages)
  let ended = false
  const end = (error?: unknown) => {
    if (ended) return
    ended = true
    if (error !== undefined) fail(otel, span, error)
    span.end()
  }
  // The relay stops waiting at its publish timeout; so does the span.
  const onAbort = () => end(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  let call: Promise<readonly PublishResult[]>
  try {
    call = otel.context.with(otel.trace.setSpan(otel.ROOT_CONTEXT, span), publish)
  } catch (error) {
    call = Promise.reject(error)
  }
  return call.then(
    (results) => {
      signal.removeEventListener('abort', onAbort)
      const failed = Array.isArray(results) ? results.filter((r) => !r?.ok) : []
      if (failed.length > 0 && !ended) {
        const first = failed[0] as Extract<PublishResult, { ok: false }>
        span.setAttribute(ERROR_TYPE, errorType(first.error))
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: `${failed.length} of ${messages.length} messages failed; the first: ${first.error?.message}` })
      }
      end()
      return results
    },
    (error: unknown) => {
      signal.removeEventListener('abort', onAbort)
      end(error)
      throw error
    },
  )
}

function startSendSpan(otel: OpenTelemetryApi, publisher: Publisher, messages: readonly OutboxMessage[]): Span {
  const links: Link[] = []
  let topic: string | undefined = messages[0]?.topic
  for (const m of messages) {
    if (m.topic !== topic) topic = undefined
    const created = creationContext(otel, m.headers)
    // No attributes on the link: the create span it points to holds the
    // message's id and topic, and each attribute cost about 1 µs per link.
    if (created !== undefined) links.push({ context: created })
  }
  const single = messages.length === 1 ? messages[0] : undefined
  return tracer(otel).startSpan(
    topic === undefined ? 'send' : `send ${topic}`,
    {
      kind: otel.SpanKind.CLIENT,
      links,
      attributes: {
        [MESSAGING_SYSTEM]: publisher.messagingSystem ?? TXBOX_SYSTEM,
        [MESSAGING_OPERATION_TYPE]: 'send',
        [MESSAGING_OPERATION_NAME]: 'send',
        // Set for one message too: publish is a batch API (the conventions' rule for such APIs).
        [MESSAGING_BATCH_MESSAGE_COUNT]: messages.length,
        ...(topic === undefined ? {} : { [MESSAGING_DESTINATION_NAME]: topic }),
        ...(single === undefined ? {} : { [MESSAGING_MESSAGE_ID]: single.messageId }),
      },
    },
    otel.ROOT_CONTEXT,
  )
}

function fail(otel: OpenTelemetryApi, span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error))
  span.recordException(err)
  span.setAttribute(ERROR_TYPE, errorType(error))
  span.setStatus({ code: otel.SpanStatusCode.ERROR, message: err.message })
}
