// The public names of @txbox/nats. Nothing is defined here.

export { natsPublisher } from './nats-publisher.js'
export { consumeNats, type NatsConsumer } from './nats-consumer.js'
export { broker } from './nats-broker.js'
export type { NatsPublisherOptions, ConsumeNatsOptions, NatsHandler, NatsHandlerContext } from './nats-config.js'
export { type NatsMessage, MESSAGE_ID_HEADER, KEY_HEADER, TOPIC_HEADER } from './nats-message.js'
export type { NatsConnectionLike, NatsServerInfo } from './nats-client.js'
export { NatsPublishError, type NatsPublishFailure } from './errors/nats-publish-error.js'
export { NatsConsumerStartError } from './errors/nats-consumer-start-error.js'
export { NatsHandlerTimeoutError } from './errors/nats-handler-timeout-error.js'
export { NatsConnectError } from './errors/nats-connect-error.js'
