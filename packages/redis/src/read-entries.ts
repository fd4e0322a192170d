/** An entry as read: `fields` is `null` when it was deleted from the stream while pending. */
export interface ReadEntry {
  readonly id: string
  readonly fields: Buffer[] | null
}

/** One entry of an XREADGROUP or XAUTOCLAIM reply, as ioredis returns it with `callBuffer`. */
export type RawEntry = [id: Buffer, fields: Buffer[] | null] | null

/** The entries of an XREADGROUP reply (one stream), ids as text. */
export function parseRead(reply: unknown): ReadEntry[] {
  if (reply === null) return []
  const streams = reply as [stream: Buffer, entries: RawEntry[]][]
  return toReadEntries(streams[0]?.[1] ?? [])
}

export function toReadEntries(raw: readonly RawEntry[]): ReadEntry[] {
  // A null element (Redis 6.2's XAUTOCLAIM for a deleted entry) carries no id to report or acknowledge.
  return raw.filter((e): e is NonNullable<RawEntry> => e !== null).map(([id, fields]) => ({ id: id.toString(), fields }))
}
