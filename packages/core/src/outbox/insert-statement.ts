import type { TableNames } from '../schema/table-names.js'
import { insertMessage } from '../sql/outbox/insert-message.js'
import { insertMessages, jsonArray } from '../sql/outbox/insert-messages.js'
import type { Statement } from '../sql/statement.js'
import type { ValidatedMessage } from './message.js'

/** How the relay hears about new messages; see enqueueOnCommit's `notify` option. */
export type NotifyMode = 'after-commit' | 'in-transaction' | false

/** The INSERT for validated messages: insert-message for one, insert-messages for several. */
export function insertStatement(names: TableNames, messages: readonly ValidatedMessage[], notify: boolean): Statement<never> {
  if (messages.length === 1) {
    const m = messages[0] as ValidatedMessage
    return insertMessage(
      names,
      { keyed: m.key !== null, scheduled: m.delayMs !== null || m.availableAt !== null, notify },
      { ...m, keyLockSpace: names.locks.keys, channel: names.channel },
    )
  }
  return insertMessages(names, notify, {
    messageIds: messages.map((m) => m.messageId),
    topics: messages.map((m) => m.topic),
    keys: messages.map((m) => m.key),
    payloads: jsonArray(messages.map((m) => m.payload)),
    headers: jsonArray(messages.map((m) => m.headers ?? 'null')),
    delayMs: messages.map((m) => m.delayMs),
    availableAt: messages.map((m) => m.availableAt),
    keyLockSpace: names.locks.keys,
    channel: names.channel,
  })
}
