import type { OutboxMessage } from '@txbox/core'

/** A message as a consumer hands it to the checker's handler, whatever the broker. */
export interface ReceivedMessage {
  readonly messageId: string
  readonly payload: unknown
  /** The adapter's count: which delivery this is. */
  readonly deliveries: number
}

/** What the checker's consumer does with a message: the handler, and what wraps it. */
export interface ConsumerBehaviour {
  /** The consumer's name in the group (Redis); the connection's name (RabbitMQ). */
  readonly name: string
  readonly handler: (message: ReceivedMessage, signal: AbortSignal | undefined) => Promise<void>
  readonly wrap: ((message: ReceivedMessage, run: () => Promise<void>) => Promise<unknown>) | undefined
  /** The consumer's warnings and errors. */
  readonly log: (line: string) => void
}

/** One consumer, running, on a connection of its own behind a TCP proxy the run can cut. */
export interface RunningConsumer {
  /** The adapter's graceful stop. */
  stop(): Promise<void>
  /** Resets its connections; it reconnects by itself. */
  drop(): void
  /** Cuts its connections for good: nothing it sends reaches the broker any more. */
  cutForGood(): void
  /** Closes what the harness opened for it (client, proxy), after stop(). */
  close(): Promise<void>
}

/** One run's own stream and group (Redis) or exchange and queues (RabbitMQ). */
export interface ConsumerPlace {
  readonly kind: 'redis' | 'rabbitmq'
  /** Publishes through the adapter's real publisher; throws unless every message was confirmed. */
  publish(messages: readonly OutboxMessage[]): Promise<void>
  startConsumer(behaviour: ConsumerBehaviour): Promise<RunningConsumer>
  /** n of every dead letter so far, one entry per dead letter. */
  deadLetters(): Promise<number[]>
  /** Nothing waits in the broker: no pending entry (Redis), no ready message (RabbitMQ). */
  idle(): Promise<boolean>
  cleanup(): Promise<void>
}
