import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { InvalidOptionError } from '@txbox/core'

/** What a request may do, decided by {@link AccessControl.check}. */
export type Access = 'granted' | 'denied'

/**
 * The page's access token and its CSRF protection.
 *
 * The token is given once in the URL (`?token=`); the page then holds a
 * session cookie (HttpOnly, SameSite=Strict) whose value is an HMAC of the
 * token under a secret made at start, so neither the token nor the secret
 * is readable by the page's scripts, and a restart ends every session.
 * A change (POST) must also carry the CSRF token, which only the page knows
 * (it is in the HTML, which another site cannot read), in a header no form
 * can set, with a JSON content type and a same-origin Origin header.
 */
export class AccessControl {
  readonly cookieName: string
  readonly csrfToken: string
  readonly #token: string | false
  readonly #sessionValue: string

  constructor(token: string | false) {
    if (token !== false && (typeof token !== 'string' || token.length < 16)) {
      throw new InvalidOptionError('token', 'dashboard: token must be a string of at least 16 characters, or false when your own middleware authenticates the requests.')
    }
    this.#token = token
    const secret = randomBytes(32)
    // Cookies are not kept apart by port: two dashboards on one host need two names.
    this.cookieName = `txbox_dashboard_${createHash('sha256').update(String(token)).digest('hex').slice(0, 8)}`
    this.#sessionValue = createHmac('sha256', secret).update(`session:${String(token)}`).digest('base64url')
    this.csrfToken = createHmac('sha256', secret).update('csrf').digest('base64url')
  }

  /** True when the handler asks for no token (the user's middleware did). */
  get open(): boolean {
    return this.#token === false
  }

  /** The token given in a `?token=` query, checked; undefined when none was given (or the handler has no token). */
  tokenFromQuery(url: URL): boolean | undefined {
    const given = url.searchParams.get('token')
    // Without a token of our own (the user's middleware authenticates) a ?token= is none of ours.
    if (given === null || this.#token === false) return undefined
    return same(given, this.#token)
  }

  /** The Set-Cookie header value that opens a session. */
  sessionCookie(path: string): string {
    return `${this.cookieName}=${this.#sessionValue}; HttpOnly; SameSite=Strict; Path=${path || '/'}`
  }

  /** Whether the request carries the session cookie or the token as a bearer. */
  check(request: IncomingMessage): Access {
    if (this.#token === false) return 'granted'
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]
    if (bearer !== undefined && same(bearer.trim(), this.#token)) return 'granted'
    const cookie = readCookie(request.headers.cookie, this.cookieName)
    return cookie !== undefined && same(cookie, this.#sessionValue) ? 'granted' : 'denied'
  }

  /** Why a change request is refused as a possible forgery, or undefined when it is not. */
  forgeryReason(request: IncomingMessage): string | undefined {
    const csrf = request.headers['x-txbox-csrf']
    if (typeof csrf !== 'string' || !same(csrf, this.csrfToken)) return 'the CSRF token is missing or wrong: reload the page'
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) return 'a change must be sent as application/json'
    const origin = request.headers.origin
    if (origin !== undefined && origin !== 'null') {
      let originHost: string
      try {
        originHost = new URL(origin).host
      } catch {
        return 'the Origin header is not a URL'
      }
      const host = request.headers['x-forwarded-host'] ?? request.headers.host
      if (originHost !== host) return `a change from another origin (${origin}) is refused`
    }
    return undefined
  }
}

function same(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest()
  const y = createHash('sha256').update(b).digest()
  return timingSafeEqual(x, y)
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const at = part.indexOf('=')
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim()
  }
  return undefined
}
