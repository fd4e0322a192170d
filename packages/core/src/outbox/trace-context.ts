import { createRequire } from 'node:module'

/** The subset of @opentelemetry/api txbox uses. */
interface OtelApi {
  context: { active(): unknown }
  propagation: { inject(context: unknown, carrier: Record<string, string>): void }
}

let otel: OtelApi | null | undefined

// @opentelemetry/api is an optional peer dependency: loaded once, synchronously
// (enqueue must not add an await), and simply absent when not installed.
function loadOtel(): OtelApi | null {
  if (otel !== undefined) return otel
  try {
    const require = createRequire(import.meta.url)
    otel = require('@opentelemetry/api') as OtelApi
  } catch {
    otel = null
  }
  return otel
}

/**
 * The W3C trace context (`traceparent`, `tracestate`) of the active span, if
 * @opentelemetry/api is installed and a propagator is registered. Empty
 * otherwise.
 */
export function captureTraceContext(): Record<string, string> {
  const api = loadOtel()
  if (!api) return {}
  const carrier: Record<string, string> = {}
  try {
    api.propagation.inject(api.context.active(), carrier)
  } catch {
    return {}
  }
  return carrier
}
