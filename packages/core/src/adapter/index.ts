// @txbox/core/adapter: what the adapter packages (@txbox/redis, @txbox/rabbitmq,
// @txbox/bullmq, @txbox/nats, and one you write) share. Not part of the
// application API of @txbox/core: an application imports from '@txbox/core'.
// Nothing is defined here.

export { ABORTED, untilAborted } from './until-aborted.js'
export { settledWithin } from './settled-within.js'
export { callHandler, timedOut, type HandlerCall, type HandlerContext, type HandlerOutcome } from './handler-call.js'
export { ConsumerLoop, retryDelayMs } from './consumer-loop.js'
export { redactUrl } from '../cli/redact.js'
export type { BrokerConnection, BrokerDescriptor, BrokerFlags, BrokerOpenOptions } from '../broker-descriptor.js'
export { brokerFlagsOf } from './broker-flags.js'
