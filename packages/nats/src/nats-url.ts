// A `nats://` URL as the broker descriptor takes it, in nats.js' terms.
// nats.js reads no credentials from a server URL, so they are taken out here:
// `nats://user:password@host:4222` is a user and password,
// `nats://token@host:4222` a token. Several servers (a cluster) are given
// comma-separated: `nats://a:4222,nats://b:4222`; the credentials come from
// the first URL that has them.

/** What `connect()` takes from a URL. */
export interface NatsUrl {
  /** `host:port` of each server, without credentials. */
  readonly servers: string[]
  readonly user?: string
  readonly pass?: string
  readonly token?: string
  /** The URL with its password or token masked, for logs and errors. */
  readonly description: string
}

/** Parses `url`; throws an Error saying what a NATS URL looks like when it is not one. */
export function parseNatsUrl(url: string): NatsUrl {
  const parts = url.split(',').map((p) => p.trim())
  const servers: string[] = []
  let auth: { user?: string; pass?: string; token?: string } = {}
  for (const part of parts) {
    let parsed: URL
    try {
      parsed = new URL(part)
    } catch {
      throw new Error(`"${mask(part)}" is not a URL; expected nats://host:4222, nats://user:password@host:4222 or nats://token@host:4222`)
    }
    if (parsed.protocol !== 'nats:') throw new Error(`"${mask(part)}" is not a nats:// URL`)
    if (parsed.hostname === '') throw new Error(`"${mask(part)}" names no host`)
    servers.push(`${parsed.hostname}:${parsed.port || '4222'}`)
    if (parsed.username !== '' && auth.user === undefined && auth.token === undefined) {
      const user = decodeURIComponent(parsed.username)
      auth = parsed.password === '' ? { token: user } : { user, pass: decodeURIComponent(parsed.password) }
    }
  }
  return { servers, ...auth, description: parts.map(mask).join(',') }
}

/** `url` with its password (or its token, the user part without a password) replaced by `***`. */
function mask(url: string): string {
  const start = url.indexOf('://')
  if (start < 0) return url
  const authorityEnd = url.slice(start + 3).search(/[/?#]/)
  const end = authorityEnd < 0 ? url.length : start + 3 + authorityEnd
  const at = url.lastIndexOf('@', end - 1)
  if (at <= start) return url
  const userinfo = url.slice(start + 3, at)
  const colon = userinfo.indexOf(':')
  const masked = colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`
  return `${url.slice(0, start + 3)}${masked}${url.slice(at)}`
}
