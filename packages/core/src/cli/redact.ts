// Passwords the CLI has seen (in DATABASE_URL, TXBOX_BROKER_URL, flags). Every
// line the CLI prints goes through redact(), so a password never reaches a
// terminal or a log collector, even inside a driver's error message.
const secrets = new Set<string>()

/** Returns `url` with its password replaced by `***`, and remembers the password for {@link redact}. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (!parsed.password) return url
    const password = decodeURIComponent(parsed.password)
    secrets.add(password)
    secrets.add(parsed.password)
    parsed.password = '***'
    return parsed.toString()
  } catch {
    // Not a URL the WHATWG parser accepts: mask anything between "user:" and "@".
    return url.replace(/(\/\/[^:/@]*:)([^@]*)@/, (_m, head: string, password: string) => {
      if (password) secrets.add(password)
      return `${head}***@`
    })
  }
}

/** Replaces every password seen so far in `text` by `***`. */
export function redact(text: string): string {
  let out = text
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***')
  return out
}
