import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'

/** Counts and drops what it is given: what a bench measures is the spans' cost in the relay, not a collector's. */
class DiscardingExporter implements SpanExporter {
  spans = 0
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.spans += spans.length
    done({ code: 0 })
  }
  async shutdown(): Promise<void> {}
}

/**
 * Registers the OpenTelemetry SDK as an application would (tracer provider
 * with a BatchSpanProcessor, async-hooks context manager, W3C propagator),
 * exporting to nowhere. The returned function unregisters it and resolves
 * to the number of spans exported.
 */
export function registerTracing(): () => Promise<number> {
  const exporter = new DiscardingExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] })
  trace.setGlobalTracerProvider(provider)
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  return async () => {
    await provider.shutdown()
    trace.disable()
    context.disable()
    propagation.disable()
    return exporter.spans
  }
}
