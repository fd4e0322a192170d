// The public names of @txbox/core. Nothing is defined here.

export { withTransaction } from './transaction/with-transaction.js'
export { onCommit, onRollback } from './transaction/hooks.js'
export type { IsolationLevel, TransactionOptions } from './transaction/transaction-options.js'

export { enqueueOnCommit, type EnqueueOptions } from './outbox/enqueue-on-commit.js'
export type { OutboxMessageInput } from './outbox/message.js'
export type { NotifyMode } from './outbox/insert-statement.js'

export { migrate, type MigrateOptions, type MigrateResult } from './schema/migrate.js'
export { migrationSql } from './schema/migrations.js'
export type { TableOptions } from './schema/table-names.js'

export { createRelay, type Relay } from './relay/create-relay.js'
export type { RelayOptions } from './relay/relay-options.js'
export type { RelayErrorSource, RelayEvents } from './relay/relay-events.js'
export type { BackoffOptions, RetryDelay } from './relay/backoff.js'
export type { ListenSource, ListenClient } from './relay/wake-up-listener.js'
export type { OutboxStats, RelayMetrics } from './relay/relay-metrics.js'

export type { Publisher, OutboxMessage, PublishResult, PublishContext } from './publisher.js'
export { consoleLogger, type Logger, silentLogger } from './logger.js'
export type { PgClientLike, SqlRunner } from './sql-executor.js'

export { TxboxError, type TxboxErrorCode } from './errors/txbox-error.js'
export { InvalidMessageError } from './errors/invalid-message-error.js'
export { PayloadNotJsonError } from './errors/payload-not-json-error.js'
export { PayloadTooLargeError } from './errors/payload-too-large-error.js'
export { InvalidIdentifierError } from './errors/invalid-identifier-error.js'
export { InvalidOptionError } from './errors/invalid-option-error.js'
export { NotInTransactionError } from './errors/not-in-transaction-error.js'
export { SchemaNotMigratedError } from './errors/schema-not-migrated-error.js'
export { PublishTimeoutError } from './errors/publish-timeout-error.js'

export { processOnce } from './inbox/process-once.js'
export { pruneInbox } from './inbox/prune-inbox.js'
export type { ProcessOnceOptions, ProcessOnceResult, PruneInboxOptions } from './inbox/inbox-options.js'
export type { BrokerConnection, BrokerDescriptor, BrokerFlags, BrokerOpenOptions } from './broker-descriptor.js'

export { retryDeadLetters, type RetryDeadLettersResult } from './dead-letters/retry-dead-letters.js'
export { purgeDeadLetters } from './dead-letters/purge-dead-letters.js'
export { type DeadLetter, type DeadLetterPage, type DeadLetterPageQuery, listDeadLetters } from './dead-letters/list-dead-letters.js'
export type { DeadLetterFilter, DeadLetterRef, DeadLetterSelection } from './dead-letters/dead-letter-selection.js'
