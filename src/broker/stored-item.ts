// A `mappings` table item as plain data, read from DynamoDB's own attribute types. A mapping is written with text (S),
// numbers (N), true/false (BOOL), maps (M) and lists (L); a set (SS, NS, BS), binary (B), NULL or a type this code does
// not know makes the item invalid at that attribute. (unmarshall would make a set a Set, which reads as nothing.)
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Problem } from './mapping'

type Path = Problem['path']

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

/** Sets a key of the object built, whatever its name: `__proto__` stays a key (an own property), never the prototype. */
function setOwn (target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/** Records why an attribute is not a mapping's, and keeps it as stored (what `mappings get` shows). */
function refused (av: unknown, what: string, path: Path, problems: Problem[]): unknown {
  problems.push({ path: [...path], message: `is ${what}: ${TYPES}` })
  return av
}

/**
 * One attribute value as plain data. `path` is where it is: pushed and popped as the walk goes, and copied only into a
 * problem (the broker reads the item on every request).
 */
function readValue (av: unknown, path: Path, problems: Problem[]): unknown {
  const keys = typeof av === 'object' && av !== null ? Object.keys(av) : []
  const type = keys[0]
  const value = keys.length === 1 ? (av as Record<string, unknown>)[type] : undefined
  const refuse = (what: string) => refused(av, what, path, problems)
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
    case 'L': {
      if (!Array.isArray(value)) return refuse('not a DynamoDB attribute value')
      const list: unknown[] = []
      for (let i = 0; i < value.length; i++) {
        path.push(i)
        list.push(readValue(value[i], path, problems))
        path.pop()
      }
      return list
    }
    case 'M':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? readMap(value as Record<string, unknown>, path, problems)
        : refuse('not a DynamoDB attribute value')
    default: {
      const base64 = (v: unknown) => v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v
      refuse(REFUSED[type] ?? `of a type tanuki-sts does not read (${type})`)
      return { [type]: Array.isArray(value) ? value.map(base64) : base64(value) }
    }
  }
}

function readMap (map: Record<string, unknown>, path: Path, problems: Problem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(map)) {
    path.push(key)
    // Where it once became the prototype: an item with such an attribute is invalid, like one with any unknown field.
    if (key === '__proto__') problems.push({ path: [...path], message: 'unknown field "__proto__"' })
    setOwn(out, key, readValue(map[key], path, problems))
    path.pop()
  }
  return out
}

/** Reads an item attribute by attribute; never throws (an item that cannot be read is a list of problems). */
export function readItem (item: Readonly<Record<string, AttributeValue>>): ReadItem {
  const problems: Problem[] = []
  const data = readMap(item as Record<string, unknown>, [], problems)
  return { data, problems }
}
