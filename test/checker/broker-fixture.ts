import type { Publisher } from '@txbox/core'
import type { BrokerDelivery } from './run-history.js'

/** A real publisher for one relay, on a connection of its own that the run can cut. */
export interface RelayBrokerLink {
  readonly publisher: Publisher
  /** Resets the relay's broker connection (its TCP proxy drops every link); the publisher reconnects. */
  closeConnection(): void
  /** Closes the publisher, its connection and its proxy. */
  close(): Promise<void>
}

/**
 * One run's own place on a broker (a Redis stream; a RabbitMQ exchange and
 * queue), read from the broker's side: what it holds, in its order.
 */
export interface BrokerFixture {
  readonly kind: 'redis' | 'rabbitmq'
  /** A publisher for a relay, named (connection name) for the broker's tools. */
  linkFor(name: string): Promise<RelayBrokerLink>
  /**
   * A broker position such that every delivery made before now is before it:
   * a delivery at this position or later was made after the call.
   */
  mark(): Promise<number>
  /** Every delivery so far, in the broker's order. */
  deliveries(): Promise<BrokerDelivery[]>
  /** Deletes the run's stream or exchange and queue, and closes connections. */
  cleanup(): Promise<void>
}
