// NATS subjects: dot-separated tokens. What the server or the client would
// mishandle is refused here, before anything is sent: a space splits the
// protocol line, an empty token or a wildcard token is not a subject a
// message can be stored under, and a subject longer than the control line
// makes the server close the connection under every message in flight
// ("maximum control line exceeded").

/**
 * The server's max_control_line (4096 bytes by default) holds
 * `HPUB <subject> <reply inbox> <header size> <total size>`; this leaves room
 * for the rest of the line with a custom inbox prefix.
 */
export const MAX_SUBJECT_BYTES = 3840

/** Prefixes of the server's own APIs: a message published there would be an API call (`$JS.API.STREAM.DELETE.…`). */
const RESERVED_PREFIXES = ['$JS.', '$JSC.', '$SYS.', '$NRG.']

/** Why `subject` cannot be published to, or `undefined` when it can. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return 'it is empty'
  const bytes = Buffer.byteLength(subject, 'utf8')
  if (bytes > MAX_SUBJECT_BYTES) return `it is ${bytes} bytes of UTF-8; txbox publishes to subjects of at most ${MAX_SUBJECT_BYTES} bytes (NATS' control line holds 4096)`
  if (/\s/.test(subject)) return 'it contains whitespace'
  const tokens = subject.split('.')
  if (tokens.some((t) => t === '')) return 'it has an empty token (a leading, trailing or doubled dot)'
  if (tokens.some((t) => t === '*' || t === '>')) return 'it has a wildcard token (* or >); a message is published to one literal subject'
  const reserved = RESERVED_PREFIXES.find((p) => subject.startsWith(p))
  if (reserved) return `it starts with ${reserved}, which NATS reserves for its own APIs`
  return undefined
}

/** Whether the literal `subject` matches `filter` (a subject with `*` and `>` wildcards), as NATS matches them. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.')
  const s = subject.split('.')
  for (let i = 0; i < f.length; i++) {
    const token = f[i]
    if (token === '>') return s.length > i
    if (i >= s.length) return false
    if (token !== '*' && token !== s[i]) return false
  }
  return f.length === s.length
}
