// @txbox/core/adapter: what the adapter packages (@txbox/redis, @txbox/rabbitmq,
// @txbox/bullmq, @txbox/nats, and one you write) share. Not part of the
// application API of @txbox/core: an application imports from '@txbox/core'.
// Nothing is defined here. Options are declared as data (OptionDeclaration)
// and checked by one resolver; the same declarations generate the docs'
// option tables.

export { ABORTED, untilAborted } from './until-aborted.js'
export { settledWithin } from './settled-within.js'
export { callHandler, timedOut, type HandlerCall, type HandlerContext, type HandlerOutcome } from './handler-call.js'
export { processedBefore, type ProcessedBefore } from './processed-before.js'
export { ConsumerLoop, retryDelayMs } from './consumer-loop.js'
export { type ProcessedMessage, withProcessSpan } from '../tracing/process-span.js'
export { HandlerTimeoutError } from './handler-timeout-error.js'
export { CONSUMER_LOGGER_OPTION, wrapOption } from './consumer-options.js'
export type { ConsumedMessage } from './consumed-message.js'
export { BrokerPublishError } from './publish-error.js'
export { redactUrl } from '../cli/redact.js'
export type { BrokerConnection, BrokerDescriptor, BrokerFlags, BrokerOpenOptions } from '../broker-descriptor.js'
export { brokerFlagsOf } from './broker-flags.js'

export type { OptionDeclaration, OptionDeclarations, ResolvedOptions } from '../options/option-declaration.js'
export { Rejection } from '../options/option-declaration.js'
export {
  adapt,
  boolean,
  callback,
  finiteNumber,
  hasMethods,
  integer,
  MAX_TIMER_MS,
  oneOf,
  type Presence,
  shape,
  text,
  textOrCallback,
} from '../options/option-kinds.js'
export { checkValue, describeValue, rejectUnknownOptions, resolveOptions } from '../options/resolve-options.js'
export { renderOptionTable } from '../options/option-table.js'
export { DATABASE_OPTION } from '../options/database-option.js'
export { LOGGER_OPTION } from '../logger.js'
export { TABLE_OPTIONS } from '../schema/table-names.js'
export { TRANSACTION_OPTIONS } from '../transaction/transaction-options.js'
export { PROCESS_ONCE_OPTIONS } from '../inbox/validate-inbox-input.js'
export { RELAY_OPTIONS } from '../relay/relay-options.js'
export { BACKOFF_OPTIONS } from '../relay/backoff.js'
