// The one DynamoDB round trip a cold request makes before it can decide: its candidate mappings and its issuer's keys,
// read together in one BatchGetItem (it reads several tables). What the items mean is mappings.ts's and issuer-keys.ts's.
import { BatchGetItemCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue, DynamoDBClient, KeysAndAttributes } from '@aws-sdk/client-dynamodb'
import { storeUnavailable } from './dynamo'
import { keysItemKey, readKeysItem } from './issuer-keys'
import type { KeysRead } from './issuer-keys'
import { parseItem } from './mappings'
import type { StoredMapping } from './mappings'

export interface BatchReadRequest {
  readonly scopes: readonly string[]
  readonly role: string
  /** Also read this issuer's keys item. */
  readonly issuer: string
}

export interface BatchRead {
  readonly mappings: Map<string, StoredMapping>
  readonly keys: KeysRead
}

export type BatchReader = (request: BatchReadRequest) => Promise<BatchRead>

/** Retried only for unprocessed keys, as the mapping lookup is; a failure is 503 and nothing issued. */
const ATTEMPTS = 3

export function createBatchReader (db: DynamoDBClient, tables: { readonly mappings: string; readonly issuerKeys: string }): BatchReader {
  return async function readTogether ({ scopes, role, issuer }) {
    const mappings = new Map<string, StoredMapping>()
    let keysItem: Record<string, AttributeValue> | undefined
    let request: Record<string, KeysAndAttributes> = {
      [tables.issuerKeys]: { Keys: [keysItemKey(issuer)], ConsistentRead: true },
      ...(scopes.length > 0 && {
        [tables.mappings]: { Keys: [...new Set(scopes)].map(scope => ({ scope: { S: scope }, role: { S: role } })), ConsistentRead: true },
      }),
    }
    for (let attempt = 0; Object.keys(request).length > 0; attempt++) {
      if (attempt === ATTEMPTS) throw storeUnavailable('mappings and issuer-keys tables', new Error(`BatchGetItem left keys unprocessed ${ATTEMPTS} times`))
      let result
      try { result = await db.send(new BatchGetItemCommand({ RequestItems: request })) }
      catch (err) { throw storeUnavailable('mappings and issuer-keys tables', err) }
      for (const item of result.Responses?.[tables.mappings] ?? []) {
        const scope = item.scope?.S
        if (scope !== undefined) mappings.set(scope, parseItem(item))
      }
      keysItem = result.Responses?.[tables.issuerKeys]?.[0] ?? keysItem
      request = Object.fromEntries(Object.entries(result.UnprocessedKeys ?? {}).filter(([, v]) => (v.Keys?.length ?? 0) > 0))
    }
    return { mappings, keys: readKeysItem(keysItem, issuer) }
  }
}
