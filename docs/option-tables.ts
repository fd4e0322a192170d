// Generates the option tables of docs/api.md and docs/cli.md from the options'
// declarations (the same data the functions check their options with, and
// `txbox relay` makes its flags from). Run `pnpm --filter @txbox/core docs:options`
// after changing an option; docs/option-tables.test.ts fails when they drift.
// The text outside the markers is written by hand and kept as it is.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { OptionDeclarations } from '../packages/core/src/options/option-declaration.js'
import { renderOptionTable } from '../packages/core/src/options/option-table.js'
import { ENQUEUE_OPTIONS } from '../packages/core/src/outbox/enqueue-on-commit.js'
import { PROCESS_ONCE_OPTIONS, PRUNE_INBOX_OPTIONS } from '../packages/core/src/inbox/validate-inbox-input.js'
import { RELAY_OPTIONS } from '../packages/core/src/relay/relay-options.js'
import { TABLE_OPTIONS } from '../packages/core/src/schema/table-names.js'
import { TRANSACTION_OPTIONS } from '../packages/core/src/transaction/transaction-options.js'
import { PUBLISHER_OPTIONS as BULLMQ_PUBLISHER_OPTIONS, WITH_PROCESS_ONCE_OPTIONS } from '../packages/bullmq/src/bullmq-options.js'
import { CONSUMER_OPTIONS as NATS_CONSUMER_OPTIONS } from '../packages/nats/src/nats-options.js'
import { PUBLISHER_OPTIONS as NATS_PUBLISHER_OPTIONS } from '../packages/nats/src/nats-publisher.js'
import {
  CONSUMER_OPTIONS as RABBITMQ_CONSUMER_OPTIONS,
  PUBLISHER_OPTIONS as RABBITMQ_PUBLISHER_OPTIONS,
} from '../packages/rabbitmq/src/rabbitmq-options.js'
import { CONSUMER_OPTIONS as REDIS_CONSUMER_OPTIONS } from '../packages/redis/src/redis-options.js'
import { PUBLISHER_OPTIONS as REDIS_PUBLISHER_OPTIONS } from '../packages/redis/src/redis-options.js'

const doc = (name: string) => fileURLToPath(new URL(name, import.meta.url))
export const API_PATH = doc('api.md')
export const CLI_PATH = doc('cli.md')

/** Only the options `txbox relay` takes as flags (the table of docs/cli.md). */
function withFlags(declarations: OptionDeclarations): OptionDeclarations {
  return Object.fromEntries(Object.entries(declarations).filter(([, declaration]) => declaration.cli))
}

/** Every generated table, by the name its markers carry. */
export const TABLES: Readonly<Record<string, () => string>> = {
  withTransaction: () => renderOptionTable(TRANSACTION_OPTIONS),
  enqueueOnCommit: () => renderOptionTable(ENQUEUE_OPTIONS),
  TableOptions: () => renderOptionTable(TABLE_OPTIONS),
  createRelay: () => renderOptionTable(RELAY_OPTIONS, { flags: true }),
  processOnce: () => renderOptionTable(PROCESS_ONCE_OPTIONS),
  pruneInbox: () => renderOptionTable(PRUNE_INBOX_OPTIONS),
  redisStreamsPublisher: () => renderOptionTable(REDIS_PUBLISHER_OPTIONS),
  consumeRedisStream: () => renderOptionTable(REDIS_CONSUMER_OPTIONS),
  rabbitmqPublisher: () => renderOptionTable(RABBITMQ_PUBLISHER_OPTIONS),
  consumeRabbitmq: () => renderOptionTable(RABBITMQ_CONSUMER_OPTIONS),
  bullmqPublisher: () => renderOptionTable(BULLMQ_PUBLISHER_OPTIONS),
  withProcessOnce: () => renderOptionTable(WITH_PROCESS_ONCE_OPTIONS),
  natsPublisher: () => renderOptionTable(NATS_PUBLISHER_OPTIONS),
  consumeNats: () => renderOptionTable(NATS_CONSUMER_OPTIONS),
  'txbox relay': () => renderOptionTable(withFlags(RELAY_OPTIONS), { flags: true }),
}

/** The markers around a generated table. */
export const begin = (name: string) => `<!-- BEGIN GENERATED OPTIONS: ${name} (pnpm --filter @txbox/core docs:options) -->`
export const END = '<!-- END GENERATED OPTIONS -->'

/** `text` with every generated table replaced by its current rendering; throws on a marker naming no table. */
export function withTables(text: string): string {
  return text.replace(/<!-- BEGIN GENERATED OPTIONS: (.+?) \(pnpm[^>]*-->[\s\S]*?<!-- END GENERATED OPTIONS -->/g, (_, name: string) => {
    const render = TABLES[name]
    if (!render) throw new Error(`no option table named "${name}": known ${Object.keys(TABLES).join(', ')}`)
    return `${begin(name)}\n\n${render()}\n\n${END}`
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const path of [API_PATH, CLI_PATH]) {
    writeFileSync(path, withTables(readFileSync(path, 'utf8')))
    console.log(`updated ${path}`)
  }
}
