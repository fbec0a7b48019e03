// A `mappings` table item as plain data, read from DynamoDB's own attribute types. A mapping is written with text (S),
// numbers (N), true/false (BOOL), maps (M) and lists (L); a set (SS, NS, BS), binary (B), NULL or a type this code does
// not know makes the item invalid at that attribute. (unmarshall would make a set a Set, which reads as nothing.)
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Problem } from './mapping'

/** An item read: its plain data (what parseMapping checks, and what the CLI shows), and why it is not a mapping's. */
export interface ReadItem {
  /** Plain data where the item is; an attribute of another type as stored (`{ SS: [...] }`, binary as base64). */
  readonly data: Record<string, unknown>
  readonly problems: Problem[]
}

const TYPES = 'a mapping is written with text (S), whole numbers (N), true/false (BOOL), maps (M) and lists (L)'
const REFUSED: Readonly<Record<string, string>> = {
  SS: 'a string set (SS)', NS: 'a number set (NS)', BS: 'a binary set (BS)', B: 'binary (B)', NULL: 'NULL',
}

/** A key of the object built, whatever its name: `__proto__` stays a key, never the prototype. */
function setOwn (target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function readValue (av: unknown, path: Array<string | number>, problems: Problem[]): unknown {
  const keys = typeof av === 'object' && av !== null ? Object.keys(av) : []
  const [type] = keys
  const value = keys.length === 1 ? (av as Record<string, unknown>)[type] : undefined
  const refuse = (what: string) => { problems.push({ path, message: `is ${what}: ${TYPES}` }); return av }
  if (keys.length !== 1) return refuse('not a DynamoDB attribute value')
  switch (type) {
    case 'S':
      return typeof value === 'string' ? value : refuse('not a DynamoDB attribute value')
    case 'BOOL':
      return typeof value === 'boolean' ? value : refuse('not a DynamoDB attribute value')
    case 'N':
      // DynamoDB stores numbers as decimal text; the format's numbers are whole numbers JavaScript holds exactly.
      if (typeof value === 'string' && /^-?(0|[1-9][0-9]*)$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value)
      return refuse(`the number ${String(value)}, not a whole number`)
    case 'L':
      return Array.isArray(value) ? value.map((v, i) => readValue(v, [...path, i], problems)) : refuse('not a DynamoDB attribute value')
    case 'M':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? readMap(value as Record<string, unknown>, path, problems)
        : refuse('not a DynamoDB attribute value')
    default: {
      const what = REFUSED[type] ?? `of a type tanuki-sts does not read (${type})`
      const shown = value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value
      problems.push({ path, message: `is ${what}: ${TYPES}` })
      return { [type]: Array.isArray(shown) ? shown.map(v => v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v) : shown }
    }
  }
}

function readMap (map: Record<string, unknown>, path: Array<string | number>, problems: Problem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(map)) {
    // Where it once became the prototype: an item with such an attribute is invalid, like one with any unknown field.
    if (key === '__proto__') problems.push({ path: [...path, key], message: 'unknown field "__proto__"' })
    setOwn(out, key, readValue(map[key], [...path, key], problems))
  }
  return out
}

/** Reads an item attribute by attribute; never throws (an item that cannot be read is a list of problems). */
export function readItem (item: Readonly<Record<string, AttributeValue>>): ReadItem {
  const problems: Problem[] = []
  const data = readMap(item as Record<string, unknown>, [], problems)
  return { data, problems }
}
