/**
 * Why PostgreSQL cannot store `value` as given, as a phrase that also says
 * what to do (`"contains the character U+0000 …: remove it"`), or undefined
 * when it can.
 *
 * Two things, both of which used to pass validation:
 * - An unpaired UTF-16 surrogate: half of a character such as an emoji, left
 *   by slice() or substring() cutting a string in the middle of it. It has no
 *   UTF-8 form. node-postgres sends text as UTF-8, so a text column receives
 *   U+FFFD in its place (the stored message id differs from the one returned,
 *   and two such ids collide); in JSON it travels as an escape (`\ud83d`) that
 *   jsonb refuses, aborting the caller's transaction.
 * - U+0000, which neither text nor jsonb can hold.
 *
 * Well-formed pairs (emoji) are fine everywhere.
 */
export function unstorableText(value: string): string | undefined {
  // Both checks are native and return at once for the usual one-byte
  // (Latin-1) string, so the common case costs next to nothing.
  if (isWellFormed(value) && !value.includes('\u0000')) return undefined
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i)
    if (unit === 0) {
      return `contains the character U+0000 (at index ${i}), which PostgreSQL cannot store in text or jsonb: remove it, or encode the data (base64)`
    }
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = value.charCodeAt(i + 1)
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++ // a well-formed pair
        continue
      }
      const hex = unit.toString(16).toUpperCase()
      return `contains an unpaired UTF-16 surrogate (\\u${hex} at index ${i}): half of a character such as an emoji, which UTF-8 cannot encode, so PostgreSQL would store U+FFFD in its place or refuse it. It usually comes from cutting a string with slice() or substring(): cut on code points (Array.from(text)), or repair the string with text.toWellFormed()`
    }
  }
  return undefined
}

// String.prototype.isWellFormed is ES2024: Node 20 has it, our TypeScript lib
// (ES2023) does not declare it.
function isWellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed()
}
