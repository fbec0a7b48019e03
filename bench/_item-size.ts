// DynamoDB's size and capacity rules, for the items the broker really writes (cost.ts reads them back from the table).
// From the DynamoDB Developer Guide: "Item sizes and formats", "Read/write capacity mode" and "Global secondary
// indexes" (provisioned throughput considerations); the price list is _prices.ts's.
import type { AttributeValue } from '@aws-sdk/client-dynamodb'

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8')

/** A number's size: 1 byte per two significant digits, plus 1 (leading and trailing zeroes trimmed). */
function numberSize (text: string): number {
  const digits = text.replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '')
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1
}

/** One value's size: strings and binaries their bytes; a map or list 3 bytes, plus 1 per element and the elements. */
export function valueSize (v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S)
  if (v.N !== undefined) return numberSize(v.N)
  if (v.B !== undefined) return v.B.length
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1
  if (v.SS) return v.SS.reduce((n, s) => n + utf8(s), 0)
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0)
  if (v.BS) return v.BS.reduce((n, b) => n + b.length, 0)
  if (v.L) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0)
  if (v.M) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + utf8(k) + valueSize(e), 0)
  throw new TypeError(`an attribute value of no known type: ${JSON.stringify(v)}`)
}

/** An item's size: each attribute's name (UTF-8 bytes) and value. What write and read units are counted from. */
export function itemSize (item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((n, [name, v]) => n + utf8(name) + valueSize(v), 0)
}

/** A write of an item this size (the larger of before and after, for an update): 1 unit per KB begun. */
export const writeUnits = (bytes: number): number => Math.ceil(bytes / 1024)

/**
 * A read of an item this size: 1 unit per 4 KB begun, strongly consistent; half that eventually consistent. A key
 * that finds no item still costs a read (undefined size): BatchGetItem counts each key as a GetItem of its own.
 */
export const readUnits = (bytes: number | undefined, consistent: boolean): number => Math.max(1, Math.ceil((bytes ?? 0) / 4096)) * (consistent ? 1 : 0.5)

/** What an item (or index entry) occupies in storage: its size plus 100 bytes of overhead. */
export const storedBytes = (bytes: number): number => bytes + 100
