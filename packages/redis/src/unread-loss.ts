import type { RedisCommandClient } from './redis-client.js'
import { RedisScript } from './redis-script.js'

/**
 * Finds entries that were trimmed from the stream (MAXLEN, MINID, XTRIM)
 * before the group read them: entries no consumer of the group ever saw, so
 * neither XAUTOCLAIM nor a pending list can reveal them. Redis 7 only (older
 * versions lack the counters; the script then finds nothing).
 *
 * How: the group has read `entries-read` of the `entries-added` the stream
 * ever took, and its last read entry is `last-delivered-id`. When the stream's
 * first entry comes after that id, every entry still in the stream is unread,
 * so `entries-added - entries-read - length` entries were deleted unread.
 *
 * Redis does not count trimmed entries as read, so the group's counter would
 * stay behind for good and the same loss would be found again and again, by
 * every consumer. The script therefore moves `entries-read` past the lost
 * entries (XGROUP SETID to the same last id, with ENTRIESREAD): each loss is
 * reported once, by one consumer, and XINFO's `lag` is right again. Atomic, so
 * that consumers reading at the same time do not skew the counts.
 *
 * KEYS: the stream. ARGV: the group. Reply: `{ lost, last-delivered-id,
 * first entry id or '' }`, or `{ 0 }`.
 */
const UNREAD_LOSS_SCRIPT = new RedisScript(`
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end
local function before(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added = field(info, 'entries-added')
if not added then return { 0 } end
local length = field(info, 'length')
local first = field(info, 'first-entry')
local group = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  if field(g, 'name') == ARGV[1] then group = g end
end
if not group then return { 0 } end
local read = field(group, 'entries-read')
if not read then return { 0 } end
local last = field(group, 'last-delivered-id')
local firstId = ''
if first then
  firstId = first[1]
  if not before(last, firstId) then return { 0 } end
end
local lost = added - read - length
if lost <= 0 then return { 0 } end
redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], last, 'ENTRIESREAD', added - length)
return { lost, last, firstId }
`)

/** Entries trimmed before the group read them: how many, after which entry the group read last, and the first entry left. */
export interface UnreadLoss {
  readonly count: number
  readonly afterId: string
  /** `undefined` when the stream is empty. */
  readonly beforeId: string | undefined
}

/** Finds (and records as reported) entries trimmed before the group read them; `undefined` when none were. */
export async function takeUnreadLoss(redis: RedisCommandClient, stream: string, group: string): Promise<UnreadLoss | undefined> {
  const [count, afterId, beforeId] = (await UNREAD_LOSS_SCRIPT.run(redis, [stream], [group])) as [number, string?, string?]
  if (!count) return undefined
  return { count: Number(count), afterId: String(afterId), beforeId: beforeId ? beforeId : undefined }
}
