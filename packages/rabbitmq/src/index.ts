// The public names of @txbox/rabbitmq. Nothing is defined here.

export { rabbitmqPublisher } from './rabbitmq-publisher.js'
export { consumeRabbitmq, type RabbitmqConsumer } from './rabbitmq-consumer.js'
export { broker } from './rabbitmq-broker.js'
export type { RabbitmqConnectionOptions, RabbitmqPublisherOptions, RabbitmqConsumerOptions, RabbitmqConsumerDeclaration, RabbitmqHandler } from './rabbitmq-config.js'
export { type RabbitmqMessage, KEY_HEADER, TOPIC_HEADER } from './rabbitmq-message.js'
export type { AmqpConnection, AmqpChannel, AmqpConfirmChannel, AmqpMessage, AmqpMessageProperties, AmqpPublishOptions } from './rabbitmq-client.js'
export { RabbitmqPublishError, type RabbitmqPublishFailure } from './errors/rabbitmq-publish-error.js'
export { UndecodableMessageError } from './errors/undecodable-message-error.js'
export { RabbitmqConsumerError, type RabbitmqConsumerFailure } from './errors/rabbitmq-consumer-error.js'
export { RabbitmqConnectError } from './errors/rabbitmq-connect-error.js'
export { RabbitmqHandlerTimeoutError } from './errors/rabbitmq-handler-timeout-error.js'
