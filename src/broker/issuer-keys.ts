// The `issuer-keys` table: one item per trusted issuer, its verified key set with where it came from and when.
// What a key set may hold is key-set.ts's; when the broker reads or refreshes it is key-ring.ts's.
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { isConditionFailed } from './dynamo'
import { KeySetInvalid, KeysConflict } from './errors'
import { MAX_KEY_SET_BYTES, parseKeySet } from './key-set'
import type { KeySet } from './key-set'

/** An issuer's keys as stored. Whoever can write this item can mint tokens the broker accepts (SECURITY.md). */
export interface StoredKeys {
  readonly issuer: string
  readonly set: KeySet
  /** Where the set was read: the issuer's jwks_uri, or `file:NAME` for a set an admin pushed from a file. */
  readonly source: string
  /** When it was read from that source (ISO 8601, UTC). */
  readonly fetchedAt: string
  /** `broker` for a set the broker fetched; the admin's name for one pushed with `tanuki-sts issuers keys push`. */
  readonly updatedBy: string
}

/** What reading an issuer's item gave: its keys, why they are refused, or nothing stored. */
export type KeysRead = StoredKeys | KeySetInvalid | undefined

/** The item's attributes, all strings; the broker's role may write items with these and no others (the deploy plugin). */
export const KEYS_ITEM_ATTRIBUTES = ['issuer', 'jwks', 'source', 'fetchedAt', 'updatedBy'] as const
export const BROKER_WRITER = 'broker'
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/
const MAX_TEXT = { issuer: 2048, source: 2048, fetchedAt: 30, updatedBy: 256 } as const

export function keysItemKey (issuer: string): Record<string, AttributeValue> {
  return { issuer: { S: issuer } }
}

export function toKeysItem (stored: StoredKeys): Record<string, AttributeValue> {
  return {
    issuer: { S: stored.issuer },
    jwks: { S: JSON.stringify(stored.set) },
    source: { S: stored.source },
    fetchedAt: { S: stored.fetchedAt },
    updatedBy: { S: stored.updatedBy },
  }
}

/**
 * A stored item, checked as strictly as a fetched set: the five string attributes and no other, sizes, the issuer it
 * is read for, and a key set parseKeySet keeps whole (the broker stores nothing it would skip). Throws KeySetInvalid.
 */
export function parseKeysItem (item: Record<string, AttributeValue>, issuer: string): StoredKeys {
  const problems: string[] = []
  const unknown = Object.keys(item).filter(name => !(KEYS_ITEM_ATTRIBUTES as readonly string[]).includes(name))
  if (unknown.length > 0) problems.push(`unknown attribute${unknown.length > 1 ? 's' : ''} ${unknown.map(n => JSON.stringify(n)).join(', ')}`)
  const text: Partial<Record<typeof KEYS_ITEM_ATTRIBUTES[number], string>> = {}
  for (const name of KEYS_ITEM_ATTRIBUTES) {
    const value = Object.hasOwn(item, name) ? item[name] : undefined
    const s = value !== undefined && Object.keys(value).length === 1 ? value.S : undefined
    const max = name === 'jwks' ? MAX_KEY_SET_BYTES : MAX_TEXT[name]
    if (typeof s !== 'string' || s.length === 0) problems.push(`${name} is not a non-empty string attribute`)
    else if (Buffer.byteLength(s) > max) problems.push(`${name} is longer than ${max} bytes`)
    else text[name] = s
  }
  if (text.issuer !== undefined && text.issuer !== issuer) problems.push(`the item is for ${JSON.stringify(text.issuer)}, not ${JSON.stringify(issuer)}`)
  if (text.fetchedAt !== undefined && (!ISO_TIME.test(text.fetchedAt) || Number.isNaN(Date.parse(text.fetchedAt)))) problems.push('fetchedAt is not an ISO 8601 UTC time')
  let set: KeySet | undefined
  if (text.jwks !== undefined) {
    try {
      const parsed = parseKeySet(JSON.parse(text.jwks))
      if (parsed.skipped.length > 0) problems.push(`jwks holds keys the broker never stores: ${parsed.skipped.join('; ')}`)
      set = parsed.set
    }
    catch (err) {
      if (err instanceof KeySetInvalid) problems.push(...err.problems.map(p => `jwks: ${p}`))
      else problems.push(`jwks is not JSON (${err instanceof Error ? err.message : String(err)})`)
    }
  }
  if (problems.length > 0 || !set) throw new KeySetInvalid(problems)
  return { issuer, set, source: text.source as string, fetchedAt: text.fetchedAt as string, updatedBy: text.updatedBy as string }
}

/** An item as read for `issuer` (from a GetItem or the request's BatchGetItem): never throws. */
export function readKeysItem (item: Record<string, AttributeValue> | undefined, issuer: string): KeysRead {
  if (item === undefined) return undefined
  try { return parseKeysItem(item, issuer) }
  catch (err) {
    if (err instanceof KeySetInvalid) return err
    throw err
  }
}


export interface IssuerKeysStore {
  /** The issuer's item, read consistently. */
  get (issuer: string): Promise<KeysRead>
  /**
   * Stores a set, unless the item holds one read from its source later than this one was (two containers, or a container
   * and an admin, never put an older set back): KeysConflict then. An item parseKeysItem would refuse: KeySetInvalid.
   */
  put (stored: StoredKeys): Promise<void>
  /** Every item, parsed (the CLI's list). */
  list (): Promise<Array<{ issuer: string; keys: StoredKeys | KeySetInvalid }>>
}

export function createIssuerKeysStore (db: DynamoDBClient, table: string): IssuerKeysStore {
  return {
    async get (issuer) {
      const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: keysItemKey(issuer), ConsistentRead: true }))
      return readKeysItem(Item, issuer)
    },
    async put (stored) {
      // Written only as it will be read: an item the broker would refuse is never stored (KeySetInvalid).
      const item = toKeysItem(stored)
      parseKeysItem(item, stored.issuer)
      try {
        await db.send(new PutItemCommand({
          TableName: table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#i) OR #f <= :f',
          ExpressionAttributeNames: { '#i': 'issuer', '#f': 'fetchedAt' },
          ExpressionAttributeValues: { ':f': { S: stored.fetchedAt } },
        }))
      }
      catch (err) {
        if (isConditionFailed(err)) throw new KeysConflict(stored.issuer)
        throw err
      }
    },
    async list () {
      const out: Array<{ issuer: string; keys: StoredKeys | KeySetInvalid }> = []
      let ExclusiveStartKey: Record<string, AttributeValue> | undefined
      do {
        const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey, ConsistentRead: true }))
        for (const item of page.Items ?? []) {
          const issuer = item.issuer?.S ?? ''
          out.push({ issuer, keys: readKeysItem(item, issuer) as StoredKeys | KeySetInvalid })
        }
        ExclusiveStartKey = page.LastEvaluatedKey
      } while (ExclusiveStartKey)
      return out.sort((a, b) => a.issuer.localeCompare(b.issuer))
    },
  }
}
