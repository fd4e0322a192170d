import { createRequire } from 'node:module'
import type * as Api from '@opentelemetry/api'

/** @opentelemetry/api, as txbox uses it. The types are compile-time only: nothing here imports the package. */
export type OpenTelemetryApi = typeof Api

let api: OpenTelemetryApi | null | undefined
let noopProvider: unknown

// @opentelemetry/api is an optional peer dependency: loaded once,
// synchronously (enqueue must not add an await), and simply absent when not
// installed. Every copy of the API shares one global registration, so the
// copy resolved from here sees the provider the application registered with
// its own (ESM or CommonJS) copy.
function load(): OpenTelemetryApi | null {
  if (api !== undefined) return api
  try {
    api = createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi
    // What the global provider delegates to while none is registered.
    noopProvider = new api.ProxyTracerProvider().getDelegate()
  } catch {
    api = null
  }
  return api
}

/** @opentelemetry/api if it is installed, else null. */
export function openTelemetry(): OpenTelemetryApi | null {
  return api === undefined ? load() : api
}

/**
 * @opentelemetry/api if it is installed and a tracer provider is registered,
 * else null: without a provider, spans would be dropped anyway, so txbox
 * builds none (no links parsed, no attributes gathered).
 */
export function tracingApi(): OpenTelemetryApi | null {
  const otel = openTelemetry()
  if (otel === null) return null
  const provider = otel.trace.getTracerProvider() as { getDelegate?: () => unknown }
  return provider.getDelegate?.() === noopProvider ? null : otel
}

/** The tracer txbox's spans come from. Cheap: the API caches tracers by name. */
export function tracer(otel: OpenTelemetryApi): Api.Tracer {
  return otel.trace.getTracer('@txbox/core')
}
