// Plain data: what JSON, YAML's core schema and DynamoDB's S, N, BOOL, M and L give. A mapping is checked to be plain
// before anything in it means something: a Map, Set, Date, byte array or class instance is refused, never read as empty
// (`Object.entries` of a Map is [], which once read as "no conditions").

/** A plain object: its prototype is Object.prototype or null (what a JSON, YAML or DynamoDB map is). */
export function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A plain list: an Array itself, not a subclass or a typed array. */
export function isPlainArray (value: unknown): value is unknown[] {
  return Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype
}

/** What a value is, in a message's words: `a Map`, `a date`, `a list`. */
function describeValue (value: unknown): string {
  if (value === null) return 'null'
  if (isPlainArray(value)) return 'a list'
  if (isPlainObject(value)) return 'a map'
  if (typeof value === 'string') return 'text'
  if (typeof value === 'boolean') return 'true or false'
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : `the number ${value}`
  if (value instanceof Map) return 'a Map (an ordered map, not a plain one)'
  if (value instanceof Set) return 'a Set'
  if (value instanceof Date) return 'a date'
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return 'binary data'
  if (typeof value === 'object') {
    const name: unknown = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === 'string' && name && name !== 'Object' ? `a ${name} object` : 'an object with a prototype of its own'
  }
  return value === undefined ? 'undefined' : `a ${typeof value}`
}

/** ` (it is a Set)`, for a value that is an object but not plain data: the tail of a message that says what it must be. */
export function notPlain (value: unknown): string {
  return typeof value === 'object' && value !== null && !isPlainObject(value) && !isPlainArray(value) ? ` (it is ${describeValue(value)})` : ''
}

/**
 * Where a value is not JSON data (a plain map or list, text, a finite number, true, false, null), at any depth: the path
 * and what is there instead. JSON.stringify would write a Map as {}, a date as text, Infinity as null, and drop undefined.
 */
export function nonJson (value: unknown, path: ReadonlyArray<string | number> = []): Array<{ path: Array<string | number>; found: string }> {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return []
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [{ path: [...path], found: describeValue(value) }]
  if (isPlainArray(value)) {
    // A sparse list (a hole) is not JSON either: JSON.stringify would write null.
    if (Object.keys(value).length !== value.length) return [{ path: [...path], found: 'a list with holes' }]
    return value.flatMap((v, i) => nonJson(v, [...path, i]))
  }
  if (isPlainObject(value)) return Object.keys(value).flatMap(k => nonJson(value[k], [...path, k]))
  return [{ path: [...path], found: describeValue(value) }]
}
