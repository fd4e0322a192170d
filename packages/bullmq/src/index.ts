// The public names of @txbox/bullmq. Nothing is defined here.

export { bullmqPublisher } from './bullmq-publisher.js'
export { withProcessOnce } from './bullmq-consumer.js'
export { broker } from './bullmq-broker.js'
export { DEFAULT_RETENTION } from './bullmq-message.js'
export type { BullmqPublisherOptions, ProcessOnceJobHandler, WithProcessOnceOptions } from './bullmq-config.js'
export { BullmqAddError, BullmqPublishError, type BullmqPublishFailure } from './errors/bullmq-publish-error.js'
export { BullmqJobIdError } from './errors/bullmq-job-id-error.js'
export { BullmqConnectError } from './errors/bullmq-connect-error.js'
