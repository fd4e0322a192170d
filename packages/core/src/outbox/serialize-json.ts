import { PayloadNotJsonError } from '../errors/payload-not-json-error.js'
import { unstorableText } from './storable-text.js'

/**
 * JSON.stringify, but strict: what JSON would silently drop or mangle, and
 * what PostgreSQL's jsonb would refuse (U+0000 or an unpaired surrogate, in a
 * string or a property name), is an error naming where it is. `undefined` as
 * an object property is dropped, as JSON does; anywhere else (the payload
 * itself, an array element) it is an error, because it would arrive as
 * something else (nothing, or null). Symbol-keyed properties are dropped, as
 * JSON does. `toJSON()` is honoured.
 */
export function serializeJson(value: unknown, field: string): string {
  const text = stringify(value, field, false)
  // jsonb refuses only what JSON.stringify writes as one of these escapes, so
  // the text tells whether it will store the payload; only then is the value
  // walked a second time, checking every string, to say where the problem is.
  if (hasEscapeJsonbRefuses(text)) {
    stringify(value, field, true)
    throw new PayloadNotJsonError('$', `${field} contains U+0000 or an unpaired UTF-16 surrogate, which PostgreSQL's jsonb cannot store: remove it.`)
  }
  return text
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** One strict JSON.stringify; with `checkText`, every string and property name is checked too. */
function stringify(value: unknown, field: string, checkText: boolean): string {
  // Where each object sits: the holder and key it was found under. Paths are
  // only spelled out for an error, so the happy path builds no strings.
  const parents = new Map<object, { holder: object; key: string }>()
  let root: object | undefined
  const pathOf = (holder: object, key: string): string => {
    const segments: string[] = []
    let h = holder
    let k = key
    while (h !== root) {
      segments.push(Array.isArray(h) ? `[${k}]` : IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)
      const parent = parents.get(h)
      if (!parent) break
      h = parent.holder
      k = parent.key
    }
    return `$${segments.reverse().join('')}`
  }
  /** The path of an object already walked: the payload itself is `$`. */
  const pathOfObject = (object: object): string => {
    const parent = parents.get(object)
    return parent ? pathOf(parent.holder, parent.key) : '$'
  }

  const refuse = (holder: object, key: string, message: (at: string) => string): never => {
    const at = pathOf(holder, key)
    throw new PayloadNotJsonError(at, message(at))
  }

  let text: string | undefined
  try {
    text = JSON.stringify(value, function (this: object, key: string, v: unknown) {
      if (root === undefined) root = this // the wrapper { '': value } JSON.stringify starts from
      if (checkText && this !== root && !Array.isArray(this)) {
        const problem = unstorableText(key)
        if (problem) {
          const at = pathOfObject(this)
          const name = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)
          throw new PayloadNotJsonError(at, `${field}: the property name ${name} at ${at} ${problem}.`)
        }
      }
      switch (typeof v) {
        case 'bigint':
          return refuse(this, key, (at) => `${field} at ${at} is a BigInt, which JSON cannot represent: convert it to a string (value.toString()) or a number.`)
        case 'function':
          return refuse(this, key, (at) => `${field} at ${at} is a function, which JSON cannot represent. Did you mean to call it and enqueue its result?`)
        case 'symbol':
          return refuse(this, key, (at) => `${field} at ${at} is a symbol, which JSON cannot represent: use a string.`)
        case 'undefined':
          if (this === root || Array.isArray(this)) {
            refuse(this, key, (at) => `${field} at ${at} is undefined, which JSON cannot represent: ${this === root ? 'pass null for a message without data, or the data itself' : 'use null (a JSON array has no holes)'}.`)
          }
          return v
        case 'number':
          if (!Number.isFinite(v)) refuse(this, key, (at) => `${field} at ${at} is ${v}, which JSON would turn into null: use null or a finite number.`)
          return v
        case 'string':
          if (checkText) {
            const problem = unstorableText(v)
            if (problem) refuse(this, key, (at) => `${field} at ${at} ${problem}.`)
          }
          return v
        case 'object':
          if (v === null) return v
          if (v instanceof Map) refuse(this, key, (at) => `${field} at ${at} is a Map, which JSON turns into {}: convert it with Object.fromEntries(map).`)
          if (v instanceof Set) refuse(this, key, (at) => `${field} at ${at} is a Set, which JSON turns into {}: convert it with Array.from(set).`)
          parents.set(v, { holder: this, key })
          return v
        default:
          return v
      }
    })
  } catch (error) {
    if (error instanceof PayloadNotJsonError) throw error
    if (error instanceof TypeError && /circular/i.test(error.message)) {
      throw new PayloadNotJsonError('$', `${field} contains a cycle (an object that refers back to itself), which JSON cannot represent: enqueue a plain copy of the data. ${error.message}`, { cause: error })
    }
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new PayloadNotJsonError('$', `${field} is nested too deeply for JavaScript to serialise (the call stack ran out): flatten it, or store the data elsewhere and enqueue a reference to it.`, { cause: error })
    }
    if (error instanceof RangeError && /string length/i.test(error.message)) {
      throw new PayloadNotJsonError('$', `${field} is too large to become one JavaScript string: store the data elsewhere and enqueue a reference to it.`, { cause: error })
    }
    throw new PayloadNotJsonError('$', `${field}: a getter or toJSON() threw while being serialised (${(error as Error)?.message ?? String(error)}): enqueue plain data, such as a copy without getters.`, { cause: error })
  }
  if (text === undefined) {
    throw new PayloadNotJsonError('$', `${field} is not JSON-serialisable (it serialises to nothing). Enqueue an object, array, string, number, boolean or null.`)
  }
  return text
}

// JSON.stringify writes U+0000 as \u0000 and an unpaired surrogate as \ud800 to
// \udfff (lower-case hex); every other escape it writes, jsonb accepts. "\\"
// is an escaped backslash, matched so that the escape after it lines up.
const REFUSED_ESCAPE = /\\(?:\\|u(?:0000|d[89a-f]))/g

function hasEscapeJsonbRefuses(text: string): boolean {
  // The usual payload has no \u escape at all: one native search.
  if (!text.includes('\\u')) return false
  REFUSED_ESCAPE.lastIndex = 0
  for (let match = REFUSED_ESCAPE.exec(text); match; match = REFUSED_ESCAPE.exec(text)) {
    if (match[0] !== '\\\\') return true
  }
  return false
}
