import type { Span } from '@opentelemetry/api'
import {
  ERROR_TYPE,
  errorType,
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
} from './messaging-attributes.js'
import { creationContext } from './creation-context.js'
import { tracer, tracingApi } from './opentelemetry.js'

/** What a consumer knows of the message it hands to a handler: the attributes of its `process` span. */
export interface ProcessedMessage {
  /** `messaging.system`: the broker, as the OpenTelemetry conventions name it ('redis', 'rabbitmq', 'nats', 'bullmq'). */
  readonly system: string
  /** `messaging.destination.name`: what the message was consumed from (a stream, a queue, a subject). */
  readonly destination: string
  readonly messageId: string
  /** The message's headers, from which its creation context (`traceparent`, `tracestate`) is read. */
  readonly headers: Readonly<Record<string, string>> | undefined
}

/** A started `process` span; `run` runs code with it active, `end` ends it. */
export interface ProcessSpan {
  run<T>(fn: () => T): T
  end(error?: unknown): void
}

const UNTRACED: ProcessSpan = { run: (fn) => fn(), end() {} }

/**
 * Starts the `process` span of one handler call (OpenTelemetry messaging
 * conventions) when a tracer provider is registered. Its parent is the
 * message's creation context (the `create` span of its enqueue), so the
 * handler's work joins the trace of the request that enqueued the message,
 * and it links to that context too, as the conventions ask of every process
 * span. It never parents to the consumer's own async context: a consumer
 * loop started inside some span would otherwise put every message it ever
 * handles under that span.
 */
export function startProcessSpan(message: ProcessedMessage | undefined): ProcessSpan {
  if (message === undefined) return UNTRACED
  const otel = tracingApi()
  if (otel === null) return UNTRACED
  const created = message.headers === undefined ? undefined : creationContext(otel, message.headers)
  const parent = created === undefined ? otel.ROOT_CONTEXT : otel.trace.setSpanContext(otel.ROOT_CONTEXT, created)
  const span: Span = tracer(otel).startSpan(
    `process ${message.destination}`,
    {
      kind: otel.SpanKind.CONSUMER,
      links: created === undefined ? [] : [{ context: created }],
      attributes: {
        [MESSAGING_SYSTEM]: message.system,
        [MESSAGING_OPERATION_TYPE]: 'process',
        [MESSAGING_OPERATION_NAME]: 'process',
        [MESSAGING_DESTINATION_NAME]: message.destination,
        [MESSAGING_MESSAGE_ID]: message.messageId,
      },
    },
    parent,
  )
  const active = otel.trace.setSpan(parent, span)
  let ended = false
  return {
    run: (fn) => otel.context.with(active, fn),
    end(error) {
      if (ended) return
      ended = true
      if (error !== undefined) {
        const err = error instanceof Error ? error : new Error(String(error))
        span.recordException(err)
        span.setAttribute(ERROR_TYPE, errorType(error))
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: err.message })
      }
      span.end()
    },
  }
}

/** Runs `fn` inside the `process` span of `message` (see {@link startProcessSpan}), ending it with `fn`'s outcome. */
export async function withProcessSpan<T>(message: ProcessedMessage | undefined, fn: () => Promise<T>): Promise<T> {
  const span = startProcessSpan(message)
  try {
    const result = await span.run(fn)
    span.end()
    return result
  } catch (error) {
    span.end(error)
    throw error
  }
}
