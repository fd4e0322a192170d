import { RedisScript } from './redis-script.js'

/**
 * The Lua script that appends a batch of entries in one atomic call, in
 * order, and stops a key at its first failure.
 *
 * Why a script and not a pipeline of XADDs: in a pipeline, XADD 5 of a key can
 * fail (WRONGTYPE at its stream, a moment of OOM) while XADD 6 of the same key,
 * already sent, succeeds, and the relay cannot take 6 back. Inside the script
 * the key's later entries are simply not written. The relay can then publish
 * a whole batch in one round trip instead of one round trip per message of its
 * busiest key, and per-key order still holds under failure. (In a Redis
 * Cluster the KEYS of one call must share a hash slot: the publisher sends one
 * call per slot, see planSlotCalls.)
 *
 * KEYS: the batch's streams. ARGV: maxLen ('' for none), the entry count, then
 * per entry: stream index (into KEYS), ordering key ('' for none), field
 * count, fields. Replies, per entry: the entry id, or an error text starting
 * with '!' ('!skip' for an entry held back behind its key's failure).
 */
export const XADD_BATCH_SCRIPT = new RedisScript(`
local maxlen = ARGV[1]
local count = tonumber(ARGV[2])
local pos = 3
local failed = {}
local replies = {}
for m = 1, count do
  local stream = KEYS[tonumber(ARGV[pos])]
  local okey = ARGV[pos + 1]
  local nfields = tonumber(ARGV[pos + 2])
  local args = { stream }
  if maxlen ~= '' then
    args[2] = 'MAXLEN'; args[3] = '~'; args[4] = maxlen
  end
  args[#args + 1] = '*'
  for f = 1, nfields do args[#args + 1] = ARGV[pos + 2 + f] end
  pos = pos + 3 + nfields
  if okey ~= '' and failed[okey] then
    replies[m] = '!skip'
  else
    local ok, res = pcall(redis.call, 'XADD', unpack(args))
    if ok and type(res) == 'string' then
      replies[m] = res
    else
      if type(res) == 'table' and res.err then res = res.err end
      replies[m] = '!' .. tostring(res)
      if okey ~= '' then failed[okey] = true end
    end
  end
end
return replies
`)

/** Builds the script's KEYS and ARGV for a batch of entries. */
export function xaddBatchArgs(
  entries: readonly { readonly stream: string; readonly key: string | null; readonly fields: readonly string[] }[],
  maxLen: number | undefined,
): { keys: string[]; args: (string | number)[] } {
  const streams: string[] = []
  const streamIndex = new Map<string, number>()
  const argv: (string | number)[] = [maxLen === undefined ? '' : maxLen, entries.length]
  for (const entry of entries) {
    let index = streamIndex.get(entry.stream)
    if (index === undefined) {
      streams.push(entry.stream)
      index = streams.length
      streamIndex.set(entry.stream, index)
    }
    argv.push(index, entry.key ?? '', entry.fields.length, ...entry.fields)
  }
  return { keys: streams, args: argv }
}
