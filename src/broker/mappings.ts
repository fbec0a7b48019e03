// The `mappings` table: the lookup the broker makes (every candidate scope in one BatchGetItem) and the admin writes.
// What a mapping means is mapping.ts's; reading an item's attributes as plain data is stored-item.ts's. This file only
// moves items, and parses them with parseMapping.
import { BatchGetItemCommand, DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue, DynamoDBClient, PutItemCommandInput } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { isConditionFailed, storeUnavailable } from './dynamo'
import { MappingConflict, MappingInvalid } from './errors'
import { parseMapping } from './mapping'
import type { Mapping } from './mapping'
import { readItem } from './stored-item'

/** What a stored item holds: a parsed mapping, or why it does not parse (the broker then denies, never falls back). */
export type StoredMapping = Mapping | MappingInvalid

export interface MappingStore {
  /** The mappings for `role` at each of `scopes`, in one round trip (BatchGetItem, retried only for unprocessed keys). */
  find (scopes: readonly string[], role: string): Promise<Map<string, StoredMapping>>
}

/**
 * Parsed mappings by their stored item's exact content: a warm container reads the same few items on every request, and
 * reuses their parse (and match.ts's compiled patterns, cached per parsed mapping). A changed item is a new key, never a
 * stale hit. Bounded: the oldest entries go first.
 */
const parsed = new Map<string, StoredMapping>()
const PARSED_MAX = 500

/** An item as the broker reads it: a mapping only if every attribute is plain data of the format's types, and it parses. */
export function parseItem (item: Record<string, AttributeValue>): StoredMapping {
  // Read first, on every call: it sees every key (JSON, the cache key, would leave out one whose value is undefined).
  const read = readItem(item)
  if (read.problems.length) return new MappingInvalid(read.problems)
  const key = JSON.stringify(item)
  let stored = parsed.get(key)
  if (stored === undefined) {
    try { stored = parseMapping(read.data) }
    catch (err) {
      if (!(err instanceof MappingInvalid)) throw err
      stored = err
    }
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value as string)
    parsed.set(key, stored)
  }
  return stored
}

export function createMappingStore (db: DynamoDBClient, table: string): MappingStore {
  return {
    async find (scopes, role) {
      const found = new Map<string, StoredMapping>()
      let keys: Array<Record<string, AttributeValue>> = [...new Set(scopes)].map(scope => ({ scope: { S: scope }, role: { S: role } }))
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt === 3) throw storeUnavailable('mappings table', new Error('BatchGetItem left keys unprocessed 3 times'))
        let result
        try {
          result = await db.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }))
        }
        catch (err) { throw storeUnavailable('mappings table', err) }
        for (const item of result.Responses?.[table] ?? []) {
          const scope = item.scope?.S
          if (scope !== undefined) found.set(scope, parseItem(item))
        }
        keys = result.UnprocessedKeys?.[table]?.Keys ?? []
      }
      return found
    },
  }
}

/** A mapping as the table item the CLI writes: text (S), numbers (N), true/false (BOOL), maps (M) and lists (L) only. */
export function toItem (mapping: Mapping): Record<string, AttributeValue> {
  return marshall(mapping, { removeUndefinedValues: true, convertClassInstanceToMap: false })
}

/** One stored item: its key, what it parses to, and the item itself (the CLI shows an invalid one's fields). */
export interface StoredEntry { scope: string; role: string; mapping: StoredMapping; item: Record<string, unknown> }

function storedEntry (item: Record<string, AttributeValue>): StoredEntry {
  return { scope: item.scope?.S ?? '', role: item.role?.S ?? '', mapping: parseItem(item), item: readItem(item).data }
}

/** Admin access to the table (the CLI); writes are conditional so two concurrent applies cannot silently overwrite. */
export function createMappingAdmin (db: DynamoDBClient, table: string) {
  return {
    async get (scope: string, role: string): Promise<StoredMapping | undefined> {
      const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: { scope: { S: scope }, role: { S: role } }, ConsistentRead: true }))
      return Item ? parseItem(Item) : undefined
    },

    /** Like get, with the stored item as read: an invalid mapping's fields (and its updatedAt) are only there. */
    async read (scope: string, role: string): Promise<StoredEntry | undefined> {
      const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: { scope: { S: scope }, role: { S: role } }, ConsistentRead: true }))
      return Item ? { ...storedEntry(Item), scope, role } : undefined
    },

    async list (): Promise<StoredEntry[]> {
      const out: StoredEntry[] = []
      let ExclusiveStartKey: Record<string, AttributeValue> | undefined
      do {
        const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey, ConsistentRead: true }))
        for (const item of page.Items ?? []) {
          out.push(storedEntry(item))
        }
        ExclusiveStartKey = page.LastEvaluatedKey
      } while (ExclusiveStartKey)
      return out.sort((a, b) => a.scope.localeCompare(b.scope) || a.role.localeCompare(b.role))
    },

    /**
     * Writes a mapping. `expected` is what the writer last saw: undefined = must not exist yet; a string = the
     * `updatedAt` it must still have. Throws MappingConflict when another writer got there first.
     */
    async put (mapping: Mapping, expected: { updatedAt?: string } | undefined): Promise<void> {
      const condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> = expected === undefined
        ? { ConditionExpression: 'attribute_not_exists(#s)', ExpressionAttributeNames: { '#s': 'scope' } }
        : expected.updatedAt === undefined
          ? { ConditionExpression: 'attribute_exists(#s) AND attribute_not_exists(#u)', ExpressionAttributeNames: { '#s': 'scope', '#u': 'updatedAt' } }
          : { ConditionExpression: '#u = :u', ExpressionAttributeNames: { '#u': 'updatedAt' }, ExpressionAttributeValues: { ':u': { S: expected.updatedAt } } }
      try {
        await db.send(new PutItemCommand({ TableName: table, Item: toItem(mapping), ...condition }))
      }
      catch (err) {
        if (isConditionFailed(err)) throw new MappingConflict(mapping.scope, mapping.role)
        throw err
      }
    },

    async delete (scope: string, role: string, expected?: { updatedAt?: string }): Promise<boolean> {
      try {
        const result = await db.send(new DeleteItemCommand({
          TableName: table,
          Key: { scope: { S: scope }, role: { S: role } },
          ReturnValues: 'ALL_OLD',
          ...(expected?.updatedAt !== undefined && {
            ConditionExpression: '#u = :u', ExpressionAttributeNames: { '#u': 'updatedAt' }, ExpressionAttributeValues: { ':u': { S: expected.updatedAt } },
          }),
        }))
        return result.Attributes !== undefined
      }
      catch (err) {
        if (isConditionFailed(err)) throw new MappingConflict(scope, role)
        throw err
      }
    },
  }
}
export type MappingAdmin = ReturnType<typeof createMappingAdmin>
