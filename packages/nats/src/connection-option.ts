import { hasMethods, shape } from '@txbox/core/adapter'
import type { NatsConnectionLike } from './nats-types.js'

/** The `connection` option of the publisher and the consumer: a NATS connection as nats.js v3 makes it (recognised by the methods txbox calls). */
export const CONNECTION_OPTION = shape<NatsConnectionLike>()({
  type: 'NatsConnection',
  required: true,
  description: 'Your nats.js v3 connection; yours to close (the publisher and the consumer never close it).',
  expected: 'a NATS connection from nats.js v3 (`await connect({ servers })` of @nats-io/transport-node)',
  test: (value) => hasMethods(value, 'isClosed', 'request', 'getServer'),
})
