import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { context, propagation, type SpanContext, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { expect } from 'vitest'

/**
 * The OpenTelemetry SDK as an application registers it (a tracer provider, an
 * async-hooks context manager, the W3C propagator), with an in-memory
 * exporter the test reads the finished spans from.
 */
export interface TracingSdk {
  readonly exporter: InMemorySpanExporter
  spans(): ReadableSpan[]
  shutdown(): Promise<void>
}

export function registerTracingSdk(): TracingSdk {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  trace.setGlobalTracerProvider(provider)
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    async shutdown() {
      await provider.shutdown()
      trace.disable()
      context.disable()
      propagation.disable()
    },
  }
}

/**
 * An HTTP server whose handler runs in a SERVER span continuing the caller's
 * trace (as @opentelemetry/instrumentation-http would make it), and calls
 * `handle` inside it: the request a user's app enqueues from.
 */
export async function startTracedServer(handle: () => Promise<void>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const parent = propagation.extract(context.active(), req.headers)
    trace.getTracer('test-app').startActiveSpan('POST /signup', { kind: SpanKind.SERVER }, parent, async (span) => {
      try {
        await handle()
        res.writeHead(201).end()
      } catch (error) {
        res.writeHead(500).end(String(error))
      } finally {
        span.end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/signup` }
}

/** POSTs with a `traceparent` of a client trace (`traceId`), and resolves to the status code. */
export function postTraced(url: string, traceId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

/** The one finished span named `name`. */
export function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name)
  expect(found.map((s) => s.name), `spans named "${name}" among ${spans.map((s) => s.name).join(', ')}`).toEqual([name])
  return found[0] as ReadableSpan
}

const sameSpan = (a: SpanContext, b: SpanContext) => a.traceId === b.traceId && a.spanId === b.spanId

/**
 * Checks the spans of one message against the OpenTelemetry messaging
 * conventions: request → create (child) → process (child, in the same trace,
 * linked to create), and a send span in a trace of its own, linked to create.
 */
export function expectOneMessageTrace(
  spans: readonly ReadableSpan[],
  m: { traceId: string; topic: string; messageId: string; system: string; destination: string; headers: Record<string, string> },
): void {
  const request = spanNamed(spans, 'POST /signup')
  const create = spanNamed(spans, `create ${m.topic}`)
  const send = spanNamed(spans, `send ${m.topic}`)
  const process = spanNamed(spans, `process ${m.destination}`)
  const created = create.spanContext()

  expect(request.spanContext().traceId).toBe(m.traceId)
  expect(create.kind).toBe(SpanKind.PRODUCER)
  expect(created.traceId).toBe(m.traceId)
  expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
  expect(create.attributes).toEqual({
    'messaging.system': 'txbox',
    'messaging.operation.type': 'create',
    'messaging.operation.name': 'create',
    'messaging.destination.name': m.topic,
    'messaging.message.id': m.messageId,
  })
  // The creation context travels in the message's headers, to the consumer.
  expect(m.headers.traceparent).toBe(`00-${created.traceId}-${created.spanId}-01`)

  expect(send.kind).toBe(SpanKind.CLIENT)
  expect(send.spanContext().traceId).not.toBe(m.traceId)
  expect(send.parentSpanContext).toBeUndefined()
  expect(send.attributes).toEqual({
    'messaging.system': m.system,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    'messaging.batch.message_count': 1,
    'messaging.destination.name': m.topic,
    'messaging.message.id': m.messageId,
  })
  expect(send.links).toHaveLength(1)
  expect(sameSpan(send.links[0]?.context as SpanContext, created)).toBe(true)

  expect(process.kind).toBe(SpanKind.CONSUMER)
  expect(process.spanContext().traceId).toBe(m.traceId)
  expect(process.parentSpanContext?.spanId).toBe(created.spanId)
  expect(process.links.map((l) => sameSpan(l.context, created))).toEqual([true])
  expect(process.attributes).toEqual({
    'messaging.system': m.system,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': m.destination,
    'messaging.message.id': m.messageId,
  })
}
