// Password masking for everything the CLI prints: URLs in messages and log
// lines, and every line as a whole (a driver's error message may quote a URL).
// It masks password FIELDS: a URL's userinfo password, query parameters that
// carry a password (node-postgres honours ?password= and ?sslpassword=, ioredis
// ?password=), and libpq-style password=... pairs. It never masks a password's
// text elsewhere: with the password "127", the host 127.0.0.1 stays readable,
// and amqp://guest:guest@ keeps its user name.

const MASK = '***'

/** Names of query parameters and key=value pairs whose value is a secret (case-insensitive). */
const SECRET_NAME = /^(?:[\w.-]*password|passwd|pwd|[\w.-]*secret|[\w.-]*token)$/i

/** A URL inside text: a scheme, `://`, up to whitespace or a quote (JSON strings end at `"`). */
const URL_IN_TEXT = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]*/g

/** A key=value pair, libpq style: the value is quoted, or runs to the next whitespace. */
const KEY_VALUE = /(^|[^\w.-])([A-Za-z_][\w.-]*)(\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)/g

/**
 * `value` (a connection URL the CLI was given) with its password fields
 * replaced by `***`. Accepts what is not a URL too: a libpq key=value string
 * (`password=***`), or `user:password@host` without a scheme.
 */
export function redactUrl(value: string): string {
  if (value.includes('://')) return maskUrl(value)
  if (/^\s*[A-Za-z_][\w.-]*\s*=/.test(value)) return maskKeyValues(value)
  return maskUserinfo(value, 0, value.lastIndexOf('@'))
}

/** `text` with the password fields of every URL and key=value pair in it replaced by `***`. */
export function redact(text: string): string {
  let out = ''
  let last = 0
  for (const match of text.matchAll(URL_IN_TEXT)) {
    // Punctuation that ends a sentence is not part of the URL ("... at <url>: reason").
    const url = match[0].replace(/[.,:;!?)\]]+$/, '')
    out += maskKeyValues(text.slice(last, match.index)) + maskUrl(url)
    last = match.index + url.length
  }
  return out + maskKeyValues(text.slice(last))
}

/**
 * Masks a URL's userinfo password and its secret query parameters, in place:
 * the rest of the text is kept byte for byte (no re-serialisation). Parts are
 * found as the WHATWG URL parser finds them: the authority ends at the first
 * `/`, `?` or `#`, and its userinfo at its last `@`.
 */
function maskUrl(url: string): string {
  const start = url.indexOf('://') + 3
  const authorityLength = url.slice(start).search(/[/?#]/)
  const authorityEnd = authorityLength < 0 ? url.length : start + authorityLength
  const at = url.lastIndexOf('@', authorityEnd - 1)
  if (at < start && url.indexOf('@', start) >= 0 && !parses(url)) {
    // Not a URL: a password with an unencoded `/`, `?`, `#` or space. Mask up
    // to the last `@`, which hides more than the password rather than less.
    return maskUserinfo(url, start, url.lastIndexOf('@'))
  }
  const head = at >= start ? maskUserinfo(url.slice(0, authorityEnd), start, at) : url.slice(0, authorityEnd)
  return head + maskQuery(url.slice(authorityEnd))
}

/** Masks what follows the first `:` in `text[from, at)` (a userinfo `user:password`). */
function maskUserinfo(text: string, from: number, at: number): string {
  if (at < from) return text
  const colon = text.indexOf(':', from)
  if (colon < 0 || colon >= at - 1) return text
  return `${text.slice(0, colon + 1)}${MASK}${text.slice(at)}`
}

/** Masks the values of secret parameters in a URL's path-query-fragment part. */
function maskQuery(rest: string): string {
  const queryStart = rest.indexOf('?')
  if (queryStart < 0) return rest
  const fragmentStart = rest.indexOf('#', queryStart)
  const queryEnd = fragmentStart < 0 ? rest.length : fragmentStart
  const query = rest
    .slice(queryStart + 1, queryEnd)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      if (equals < 0 || equals === pair.length - 1 || !SECRET_NAME.test(decodeName(pair.slice(0, equals)))) return pair
      return `${pair.slice(0, equals + 1)}${MASK}`
    })
    .join('&')
  return `${rest.slice(0, queryStart + 1)}${query}${rest.slice(queryEnd)}`
}

function maskKeyValues(text: string): string {
  return text.replace(KEY_VALUE, (pair, before: string, name: string, equals: string) => (SECRET_NAME.test(name) ? `${before}${name}${equals}${MASK}` : pair))
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '))
  } catch {
    return name
  }
}

function parses(url: string): boolean {
  try {
    new URL(url)
    return true
  } catch {
    return false
  }
}
