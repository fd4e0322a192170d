import { callHandler, type HandlerCall, timedOut } from './handler-call.js'

/**
 * What `run` throws when {@link processedBefore} calls `wrap`: the handler is
 * not run on a delivery past `maxDeliveries`. A `wrap` that logs the failures
 * of `run` sees this one.
 */
class DeliveriesExhausted extends Error {
  override readonly name = 'DeliveriesExhausted'
  constructor() {
    super(
      'txbox: this delivery is past maxDeliveries, so the handler does not run; wrap was called only to learn whether it has the message processed already (then the delivery is acknowledged, else dead-lettered).',
    )
  }
}

/** What {@link processedBefore} learnt of an exhausted delivery. */
export type ProcessedBefore =
  /** `wrap` resolved without running the handler (processOnce found the message in the inbox): acknowledge it. */
  | { readonly processed: true }
  /** No `wrap`, or it ran the handler (which threw, leaving nothing behind): dead-letter it. `error` when `wrap` failed otherwise (a database down). */
  | { readonly processed: false; readonly error?: unknown }

/**
 * For a delivery a consumer is about to dead-letter without running the
 * handler, because it came back more than `maxDeliveries` times: asks `wrap`
 * (processOnce) whether the message was processed already. An attempt whose
 * handler succeeded and committed can still lose its ack (a connection or a
 * process lost just after), and its redelivery then counts one delivery too
 * many; dead-lettering it would put a message that succeeded among the dead.
 *
 * `wrap` gets a `run` that throws {@link DeliveriesExhausted}: processOnce
 * skips it when the inbox holds the message (resolves: processed), or runs it
 * and rolls back (nothing written). Bounded by `timeoutMs` like a handler.
 */
export async function processedBefore<M>(call: Omit<HandlerCall<M>, 'handler'>): Promise<ProcessedBefore> {
  if (!call.wrap) return { processed: false }
  const exhausted = new DeliveriesExhausted()
  const outcome = await callHandler({
    ...call,
    handler: () => {
      throw exhausted
    },
  })
  if (outcome.ok) return { processed: true }
  if (timedOut(outcome)) return { processed: false, error: outcome.error }
  const cause = (outcome.error as { cause?: unknown } | null)?.cause
  return outcome.error === exhausted || cause === exhausted ? { processed: false } : { processed: false, error: outcome.error }
}
