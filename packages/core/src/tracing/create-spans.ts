import type { Span } from '@opentelemetry/api'
import {
  MESSAGING_DESTINATION_NAME,
  MESSAGING_MESSAGE_ID,
  MESSAGING_OPERATION_NAME,
  MESSAGING_OPERATION_TYPE,
  MESSAGING_SYSTEM,
  TXBOX_SYSTEM,
} from './messaging-attributes.js'
import { openTelemetry, tracer, tracingApi } from './opentelemetry.js'

const NO_CONTEXT: Readonly<Record<string, string>> = Object.freeze({})

/**
 * The `create` spans of one enqueueOnCommit call: one per message, in the
 * caller's active trace, each the message's creation context, which is
 * injected into its headers and travels with it to the broker and the
 * consumer (OpenTelemetry messaging conventions).
 */
export interface CreateSpans {
  /**
   * Starts the message's `create` span and returns its trace context
   * (`traceparent`, `tracestate`) for the headers. A message whose headers
   * carry a `traceparent` of the caller's keeps that creation context and
   * gets no span, as the conventions ask.
   */
  start(topic: string, messageId: string, headers: unknown): Readonly<Record<string, string>>
  /** Ends the spans: once the INSERT ran, so that a message never written has no span exported. */
  end(): void
}

/**
 * The create spans of one call, or, without a tracer provider, the caller's
 * active trace context as it is (a propagator alone still propagates), or
 * undefined when @opentelemetry/api is not installed: nothing to do then.
 */
export function createSpans(): CreateSpans | undefined {
  const otel = openTelemetry()
  if (otel === null) return undefined
  const parent = otel.context.active()
  const traced = tracingApi()
  if (traced === null) {
    let carrier: Record<string, string> | undefined
    return {
      start() {
        if (carrier === undefined) {
          carrier = {}
          otel.propagation.inject(parent, carrier)
        }
        return carrier
      },
      end() {},
    }
  }
  const spans: Span[] = []
  const tracerOfTxbox = tracer(traced)
  return {
    start(topic, messageId, headers) {
      if (ownsTraceparent(headers)) return NO_CONTEXT
      const span = tracerOfTxbox.startSpan(
        `create ${topic}`,
        {
          kind: traced.SpanKind.PRODUCER,
          attributes: {
            [MESSAGING_SYSTEM]: TXBOX_SYSTEM,
            [MESSAGING_OPERATION_TYPE]: 'create',
            [MESSAGING_OPERATION_NAME]: 'create',
            [MESSAGING_DESTINATION_NAME]: topic,
            [MESSAGING_MESSAGE_ID]: messageId,
          },
        },
        parent,
      )
      spans.push(span)
      const carrier: Record<string, string> = {}
      traced.propagation.inject(traced.trace.setSpan(parent, span), carrier)
      return carrier
    },
    end() {
      for (const span of spans) span.end()
      spans.length = 0
    },
  }
}

function ownsTraceparent(headers: unknown): boolean {
  return typeof headers === 'object' && headers !== null && Object.hasOwn(headers, 'traceparent')
}
