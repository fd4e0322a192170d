import { PayloadNotJsonError } from '../errors/payload-not-json-error.js'

/**
 * JSON.stringify, but strict: what JSON would silently drop or mangle is an
 * error naming where it is. `undefined` as an object property is dropped, as
 * JSON does; anywhere else (the payload itself, an array element) it is an
 * error, because it would arrive as something else (nothing, or null).
 */
export function serializeJson(value: unknown, field: string): string {
  const paths = new Map<object, string>()
  const pathOf = (holder: object, key: string): string => {
    const base = paths.get(holder) ?? '$'
    if (key === '') return base
    return Array.isArray(holder) ? `${base}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`
  }
  let text: string | undefined
  try {
    text = JSON.stringify(value, function (this: any, key: string, v: unknown) {
      const path = pathOf(this, key)
      switch (typeof v) {
        case 'bigint':
          throw new PayloadNotJsonError(path, `${field} at ${path} is a BigInt, which JSON cannot represent: convert it to a string (value.toString()) or a number.`)
        case 'function':
          throw new PayloadNotJsonError(path, `${field} at ${path} is a function, which JSON cannot represent. Did you mean to call it and enqueue its result?`)
        case 'symbol':
          throw new PayloadNotJsonError(path, `${field} at ${path} is a symbol, which JSON cannot represent: use a string.`)
        case 'undefined':
          if (key === '' || Array.isArray(this)) {
            throw new PayloadNotJsonError(path, `${field} at ${path} is undefined, which JSON cannot represent: use null, or leave the property out.`)
          }
          return v
        case 'number':
          if (!Number.isFinite(v)) {
            throw new PayloadNotJsonError(path, `${field} at ${path} is ${v}, which JSON would turn into null: use null or a finite number.`)
          }
          return v
        case 'string':
          if (v.includes('\u0000')) {
            throw new PayloadNotJsonError(path, `${field} at ${path} contains the character U+0000, which PostgreSQL's jsonb cannot store: remove it, or encode the data (base64).`)
          }
          return v
        case 'object':
          if (v !== null) paths.set(v, path)
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
    throw new PayloadNotJsonError('$', `${field} cannot be serialised to JSON: ${(error as Error).message}`, { cause: error })
  }
  if (text === undefined) {
    throw new PayloadNotJsonError('$', `${field} is not JSON-serialisable (it serialises to nothing). Enqueue an object, array, string, number, boolean or null.`)
  }
  return text
}
