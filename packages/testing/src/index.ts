export { serviceUrls, localServiceUrls, dockerIsReachable, type ServiceUrls } from './services.js'
export { useTestDatabase, uniqueName, type TestDatabase } from './test-database.js'
export { waitFor, waitForValue } from './wait-for.js'
export { recordingPublisher, type RecordingPublisher } from './recording-publisher.js'
export { describePublisherConformance, type PublisherFixture, type ReceivedMessage } from './publisher-conformance.js'
export { separatePool, terminateBackends } from './relay-fixture.js'
export {
  faultInjectingPublisher,
  type FaultInjectingPublisher,
  type FaultInjectingPublisherOptions,
  type PublishCallRecord,
  type PublishedMessageRecord,
  type PublishFault,
  type RefusalRule,
} from './fault-injecting-publisher.js'
export { describeConsumerConformance } from './consumer-conformance.js'
export { processOnceWrap, type ConsumerFixture, type ConsumerCapabilities, type ConformanceConsumer, type ConformanceConsumerOptions, type ConsumedMessage, type ProcessOnceSetup } from './consumer-fixture.js'
export { parsePrometheusText, sampleValue, type PrometheusSample } from './prometheus-text.js'
export { startPgBouncer, type OwnPgBouncer } from './pgbouncer.js'
export {
  describeExecutorConformance,
  type OrmConnection,
  type OrmFixture,
  type OutsideTransaction,
} from './executor-conformance.js'
