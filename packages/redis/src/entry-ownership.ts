import type { RedisCommandClient } from './redis-client.js'
import { RedisScript } from './redis-script.js'

/**
 * Checks that entries are still pending to this consumer and, for those that
 * are, resets their idle time (XCLAIM to itself with JUSTID: the delivery
 * counter is left alone), in one atomic step.
 *
 * Why: an entry's idle time starts when it is read. A consumer that read
 * `count` entries handles them one by one, so the last ones wait `count` ×
 * handler time; past `claimIdleMs` another consumer's XAUTOCLAIM takes them,
 * and both handle them (and the claim's higher delivery count can send an
 * entry that was handled successfully to the dead letters). Running this
 * every `claimIdleMs / 3` for the entries read and not yet settled keeps them
 * from being claimed while their consumer is alive; running it before each
 * handler call catches a claim that happened anyway (the consumer stalled
 * longer than `claimIdleMs`, another consumer has a shorter `claimIdleMs`,
 * someone ran XCLAIM).
 *
 * XPENDING then XCLAIM inside one script, because XCLAIM alone cannot tell
 * whose an entry is: claiming with min-idle 0 would take it back from the
 * consumer that claimed it legitimately.
 *
 * KEYS: the stream. ARGV: group, consumer, then the entry ids. Replies, per
 * id: `{ status, deliveries, owner }` with status 1 (still ours, idle reset),
 * 2 (ours, but the entry was deleted from the stream: Redis 7 drops it from
 * the pending list on XCLAIM), 3 (another consumer's) or 0 (not pending:
 * acknowledged, by a consumer that claimed it).
 */
const OWNERSHIP_SCRIPT = new RedisScript(`
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local row = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
  if not row then
    out[#out + 1] = { 0, 0, '' }
  elseif row[2] ~= ARGV[2] then
    out[#out + 1] = { 3, row[4], row[2] }
  else
    local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')
    if #claimed == 0 then
      out[#out + 1] = { 2, row[4], row[2] }
    else
      out[#out + 1] = { 1, row[4], row[2] }
    end
  end
end
return out
`)

/** What {@link refreshOwnership} found for one entry. */
export type Ownership =
  | { readonly status: 'own'; readonly deliveries: number }
  /** Still ours, but deleted from the stream (trimmed, XDEL): only the copy the consumer read is left. */
  | { readonly status: 'deleted'; readonly deliveries: number }
  | { readonly status: 'claimed'; readonly owner: string }
  /** Not pending any more: acknowledged, by a consumer that claimed it. */
  | { readonly status: 'settled' }

export interface OwnershipTarget {
  readonly redis: RedisCommandClient
  readonly stream: string
  readonly group: string
  readonly consumer: string
}

/** Checks and refreshes each of `ids` (see {@link OWNERSHIP_SCRIPT}); one entry per id, in order. */
export async function refreshOwnership(target: OwnershipTarget, ids: readonly string[]): Promise<Ownership[]> {
  const reply = (await OWNERSHIP_SCRIPT.run(target.redis, [target.stream], [target.group, target.consumer, ...ids])) as [number, number, string][]
  return reply.map(([status, deliveries, owner]) => {
    if (status === 1) return { status: 'own', deliveries: Number(deliveries) }
    if (status === 2) return { status: 'deleted', deliveries: Number(deliveries) }
    if (status === 3) return { status: 'claimed', owner: String(owner) }
    return { status: 'settled' }
  })
}

/**
 * Hands back entries this consumer read and never started (it is stopping):
 * their delivery counter goes back to what it was before the read (XCLAIM to
 * itself, RETRYCOUNT), so a graceful stop does not spend one of their
 * `maxDeliveries`. Without it every deploy that stopped a consumer with a
 * batch in hand counted a delivery nobody ran, and an entry could go to the
 * dead letters after fewer failed runs, or none.
 *
 * KEYS: the stream. ARGV: group, consumer, then the entry ids. Replies with
 * the ids that were deleted from the stream meanwhile (XCLAIM takes them off
 * the pending list: lost, to be reported).
 */
const HAND_BACK_SCRIPT = new RedisScript(`
local vanished = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local row = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1]
  if row and row[2] == ARGV[2] then
    local before = math.max(tonumber(row[4]) - 1, 0)
    local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', before, 'JUSTID')
    if #claimed == 0 then vanished[#vanished + 1] = id end
  end
end
return vanished
`)

/** See {@link HAND_BACK_SCRIPT}; returns the ids found deleted from the stream. */
export async function handBackUnstarted(target: OwnershipTarget, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const reply = (await HAND_BACK_SCRIPT.run(target.redis, [target.stream], [target.group, target.consumer, ...ids])) as string[]
  return reply.map(String)
}
