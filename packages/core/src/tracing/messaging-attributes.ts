// Attribute names of the OpenTelemetry messaging semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/),
// written out rather than imported: @opentelemetry/semantic-conventions
// ships them only from its unstable "incubating" entry point.

export const MESSAGING_SYSTEM = 'messaging.system'
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type'
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name'
export const MESSAGING_DESTINATION_NAME = 'messaging.destination.name'
export const MESSAGING_MESSAGE_ID = 'messaging.message.id'
export const MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count'
export const ERROR_TYPE = 'error.type'

/** `messaging.system` of the spans txbox makes before a broker is involved (the `create` span of enqueue). */
export const TXBOX_SYSTEM = 'txbox'

/** The `error.type` of an error: its class name, as the conventions suggest. */
export function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error
}
