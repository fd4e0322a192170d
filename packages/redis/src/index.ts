// The public names of @txbox/redis. Nothing is defined here.

export { redisStreamsPublisher } from './redis-publisher.js'
export { consumeRedisStream, type RedisStreamConsumer } from './redis-consumer.js'
export { broker } from './redis-broker.js'
export { connectRedis, type RedisConnection } from './redis-connect.js'
export type { RedisStreamsPublisherOptions, ConsumeRedisStreamOptions, RedisStreamHandler, RedisStreamHandlerContext } from './redis-config.js'
export type { RedisStreamMessage } from './redis-message.js'
export type { RedisPublisherClient, RedisConsumerClient, RedisBlockingClient, RedisCommandClient } from './redis-client.js'
export { RedisPublishError, type RedisPublishFailure, RedisStreamWriteError } from './errors/redis-publish-error.js'
export { RedisConsumerStartError } from './errors/redis-consumer-start-error.js'
export { RedisConnectError } from './errors/redis-connect-error.js'
export { RedisHandlerTimeoutError } from './errors/redis-handler-timeout-error.js'
