import { createHash } from 'node:crypto'

/**
 * Ids stored as they are up to this many UTF-8 bytes. PostgreSQL cannot index
 * a row over ~2.7 KB (a third of a page): a longer id failed the inbox INSERT
 * with "index row size exceeds maximum" (SQLSTATE 54000), so its message could
 * never be processed. 512 leaves room for the consumer name next to it.
 */
const MAX_STORED_ID_BYTES = 512

/** Marks a digest. Ids that start with it are digested too, so a digest never equals an id stored as it is. */
const DIGEST_PREFIX = 'txbox:sha256:'

/** In `u` mode a surrogate pair is one code point: what matches stands alone (ill-formed UTF-16). */
const LONE_SURROGATE = /\p{Surrogate}/u
const DIGEST_SHAPE = /^txbox:sha256:[0-9a-f]{64}$/

/** The message id as the inbox records it, and how to find a record of it made before digests. */
export interface InboxRecordId {
  /** What goes in `inbox.message_id`: the id itself, or `txbox:sha256:<hex>` of it. */
  readonly stored: string
  /**
   * The id as an older txbox stored it, when that may differ from `stored`
   * (a long id that still fit the index); null when no such record can exist.
   */
  readonly legacy: string | null
}

/**
 * The inbox key of `messageId`. Ids that are short, well-formed and NUL-free
 * (nearly all: UUIDs, stream ids, your own keys) are stored unchanged, so the
 * records written before this existed keep their meaning. The others are
 * stored as the SHA-256 of their UTF-16 code units, which keeps two ids apart
 * even when PostgreSQL would not: text holds no NUL, and a lone surrogate
 * reaches it as U+FFFD, folding distinct ids together.
 */
export function inboxRecordId(messageId: string): InboxRecordId {
  const storable = !messageId.includes('\0') && !LONE_SURROGATE.test(messageId)
  if (storable && !messageId.startsWith(DIGEST_PREFIX) && Buffer.byteLength(messageId, 'utf8') <= MAX_STORED_ID_BYTES) {
    return { stored: messageId, legacy: null }
  }
  const digest = createHash('sha256').update(messageId, 'utf16le').digest('hex')
  // A record of the id itself can only exist if the id reached PostgreSQL (no
  // NUL; a lone surrogate arrived as U+FFFD and is looked up the same way),
  // and is not one we wrote: an id shaped like a digest would find the record
  // of the long id it digests.
  const legacy = messageId.includes('\0') || DIGEST_SHAPE.test(messageId) ? null : messageId
  return { stored: `${DIGEST_PREFIX}${digest}`, legacy }
}
