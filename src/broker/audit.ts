// The `audit` table: one record per issuance and per authenticated denial, and the per-token use counter.
// An issuance's record IS its use reservation: one conditional write does both (no transactions needed).
import { BatchGetItemCommand, GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue, BatchGetItemCommandOutput, DynamoDBClient, KeysAndAttributes } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import { isConditionFailed, storeUnavailable } from './dynamo'
import { AuditRecordMismatch, UsesExhausted } from './errors'

export type Outcome = 'issued' | 'denied' | 'failed'

/** What an audit record holds. Never a token, secret key or session token: the token only as its SHA-256. */
export interface AuditRecord {
  /** `token#<sha256>`: every record of one ID token sits in one partition. */
  readonly pk: string
  /** `use#<scope>#<role>#<n>` (a use of a maxUses mapping), `issue#<at>#<requestId>` or `deny#<at>#<requestId>`. */
  readonly sk: string
  readonly at: string
  readonly requestId: string
  readonly outcome: Outcome
  readonly reason?: string
  readonly condition?: string
  readonly issuer: string
  /** The project's URL (issuer + path): the index partition for "who got credentials for X". */
  readonly project: string
  readonly project_path: string
  readonly project_id: string
  readonly namespace_path?: string
  readonly ref: string
  readonly ref_type: string
  readonly ref_protected: string
  readonly pipeline_id: string
  readonly job_id: string
  readonly user_login?: string
  readonly environment?: string
  readonly role: string
  readonly scope?: string
  readonly roleArn?: string
  readonly sessionName?: string
  readonly sourceIdentity?: string
  readonly durationSeconds?: number
  readonly issuanceId?: string
  readonly use?: number
  readonly accessKeyId?: string
  readonly expiration?: string
  /** The session STS made (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`), what CloudTrail names the caller. */
  readonly assumedRoleArn?: string
  readonly token_sha256: string
  readonly jti: string
  /** The token's other claims a condition may name, and `iat`: what a replay needs (audit-claims.ts). Absent in older records. */
  readonly claims?: Readonly<Record<string, unknown>>
  /** Personal claims the token carried and `claims` leaves out, because no mapping read for the request names them. */
  readonly withheld?: readonly string[]
  /** TTL, epoch seconds. */
  readonly expiresAt: number
}

export type AuditKey = Pick<AuditRecord, 'pk' | 'sk'>
/** What STS answered for an issuance, as its event carries it. */
export type IssuedCredentials = Required<Pick<AuditRecord, 'accessKeyId' | 'expiration' | 'assumedRoleArn'>>

export interface AuditStore {
  /**
   * Writes the issuance record before any credentials exist. With maxUses, the record takes the next free use slot
   * with a conditional put, so concurrent requests cannot overuse a token; throws UsesExhausted when none is left.
   * Round trips: 1 without maxUses or with maxUses 1; 2 (a consistent count, then the put) above that.
   */
  reserveIssuance (record: Omit<AuditRecord, 'sk' | 'use'>, maxUses: number | undefined): Promise<AuditRecord>
  recordDenial (record: Omit<AuditRecord, 'sk'>): Promise<AuditRecord>
  /** Marks a reserved issuance as failed (STS refused): the use stays consumed, the record stays. */
  markFailed (key: AuditKey, reason: string): Promise<void>
  /**
   * Adds what only STS knew (the event Lambda calls this): AccessKeyId, expiration and the assumed role's ARN, to the
   * issuance record with that IssuanceId, once; returns the record as stored. Throws AuditRecordMismatch for any other
   * record, or other credentials than those already recorded.
   */
  recordCredentials (key: AuditKey & { readonly issuanceId: string }, credentials: IssuedCredentials): Promise<AuditRecord>
}

/**
 * Records are extended as `{ sk, ...record }`, the spread last, because V8 builds that literal fast and
 * `{ ...record, sk }` slowly (exchange.ts's auditRecord). In that order the record's own keys would win: so a record
 * that already holds a key set beside it is refused, never allowed to replace it.
 */
export function refuseOwn (record: object, ...keys: string[]): void {
  for (const key of keys) {
    if (key in record) throw new TypeError(`an audit record to write already holds "${key}", which is set here`)
  }
}

export function useSlotPrefix (scope: string, role: string): string {
  return `use#${scope}#${role}#`
}

export function createAuditStore (db: DynamoDBClient, table: string): AuditStore {
  async function putNew (record: AuditRecord): Promise<boolean> {
    try {
      await db.send(new PutItemCommand({
        TableName: table,
        Item: marshall(record, { removeUndefinedValues: true }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }))
      return true
    }
    catch (err) {
      if (isConditionFailed(err)) return false
      throw storeUnavailable('audit table', err)
    }
  }

  return {
    async reserveIssuance (record, maxUses) {
      refuseOwn(record, 'sk', 'use')
      if (maxUses === undefined) {
        const full = { sk: `issue#${record.at}#${record.requestId}`, ...record }
        if (!await putNew(full)) throw storeUnavailable('audit table', new Error('duplicate request id'))
        return full
      }
      const prefix = useSlotPrefix(record.scope ?? '', record.role)
      // maxUses 1 needs no count: slot 1 is free or it is not.
      const used = async () => {
        try { return await countUses(db, table, record.token_sha256, record.scope ?? '', record.role) }
        catch (err) { throw storeUnavailable('audit table', err) }
      }
      for (let use = maxUses === 1 ? 1 : await used() + 1; use <= maxUses; use++) {
        const full = { sk: `${prefix}${use}`, use, ...record }
        if (await putNew(full)) return full
      }
      throw new UsesExhausted(maxUses)
    },

    async recordDenial (record) {
      refuseOwn(record, 'sk')
      const full = { sk: `deny#${record.at}#${record.requestId}`, ...record }
      if (!await putNew(full)) throw storeUnavailable('audit table', new Error('duplicate request id'))
      return full
    },

    async markFailed (key, reason) {
      try {
        await db.send(new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: key.pk }, sk: { S: key.sk } },
          UpdateExpression: 'SET outcome = :o, reason = :r',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':o': { S: 'failed' }, ':r': { S: reason } },
        }))
      }
      catch (err) { throw storeUnavailable('audit table', err) }
    },

    async recordCredentials (key, credentials) {
      try {
        const { Attributes } = await db.send(new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: key.pk }, sk: { S: key.sk } },
          UpdateExpression: 'SET accessKeyId = :a, expiration = :e, assumedRoleArn = :r',
          // An event names its record by key and IssuanceId: a denial, a failure or another issuance is never annotated, and a
          // repeated delivery (SNS is at-least-once) may only write the same values again.
          ConditionExpression: '#o = :issued AND issuanceId = :i AND (attribute_not_exists(accessKeyId) OR ' +
            '(accessKeyId = :a AND expiration = :e AND (attribute_not_exists(assumedRoleArn) OR assumedRoleArn = :r)))',
          ExpressionAttributeNames: { '#o': 'outcome' },
          ExpressionAttributeValues: {
            ':a': { S: credentials.accessKeyId }, ':e': { S: credentials.expiration }, ':r': { S: credentials.assumedRoleArn },
            ':i': { S: key.issuanceId }, ':issued': { S: 'issued' },
          },
          ReturnValues: 'ALL_NEW',
        }))
        return unmarshall(Attributes ?? {}) as AuditRecord
      }
      catch (err) {
        if (isConditionFailed(err)) throw new AuditRecordMismatch(key)
        throw err
      }
    },
  }
}

export interface AuditQuery {
  project: string
  since?: string
  limit?: number
  startKey?: Record<string, AttributeValue>
}

/** DynamoDB kept leaving some of a listing's records unread (throttled): the listing stops rather than leave them out. */
export class AuditRecordsUnread extends Error {
  constructor (readonly unread: number, readonly attempts: number) {
    super(`DynamoDB left ${unread} audit record(s) unread after ${attempts} attempts (throttled); try again.`)
    this.name = 'AuditRecordsUnread'
  }
}

/** BatchGetItem reads at most this many keys a request. */
const BATCH_KEYS = 100
const UNREAD_ATTEMPTS = 5

/**
 * The records at these keys, in their order; a key whose record has expired since it was listed is left out. The
 * byProject index keeps only keys (app.arc: `projection keys`): an index that copies the whole record costs a second
 * write on every issuance and another when its event adds the AccessKeyId (docs/performance.md).
 */
async function recordsAt (db: DynamoDBClient, table: string, keys: ReadonlyArray<Record<string, AttributeValue>>): Promise<AuditRecord[]> {
  const id = (item: Record<string, AttributeValue>) => `${item.pk?.S}\n${item.sk?.S}`
  const found = new Map<string, Record<string, AttributeValue>>()
  for (let i = 0; i < keys.length; i += BATCH_KEYS) {
    let unread: KeysAndAttributes | undefined = { Keys: keys.slice(i, i + BATCH_KEYS).map(k => ({ pk: k.pk, sk: k.sk })) }
    for (let attempt = 0; unread?.Keys?.length; attempt++) {
      if (attempt === UNREAD_ATTEMPTS) throw new AuditRecordsUnread(unread.Keys.length, attempt)
      if (attempt > 0) await new Promise(resolve => setTimeout(resolve, 50 * 2 ** attempt))
      const result: BatchGetItemCommandOutput = await db.send(new BatchGetItemCommand({ RequestItems: { [table]: unread } }))
      for (const item of result.Responses?.[table] ?? []) found.set(id(item), item)
      unread = result.UnprocessedKeys?.[table]
    }
  }
  return keys.flatMap(k => {
    const item = found.get(id(k))
    return item ? [unmarshall(item) as AuditRecord] : []
  })
}

/** Newest first, from the byProject index: "who got credentials for this project". Each page's records are read by key. */
export async function queryAuditByProject (db: DynamoDBClient, table: string, q: AuditQuery) {
  const result = await db.send(new QueryCommand({
    TableName: table,
    IndexName: 'byProject',
    // `project` is a DynamoDB reserved word: it must go through an attribute name placeholder.
    KeyConditionExpression: q.since ? '#project = :p AND #at >= :since' : '#project = :p',
    ExpressionAttributeNames: q.since ? { '#project': 'project', '#at': 'at' } : { '#project': 'project' },
    ExpressionAttributeValues: { ':p': { S: q.project }, ...(q.since && { ':since': { S: q.since } }) },
    ScanIndexForward: false,
    Limit: q.limit ?? 100,
    ExclusiveStartKey: q.startKey,
  }))
  return { records: await recordsAt(db, table, result.Items ?? []), next: result.LastEvaluatedKey }
}

/** How many use slots of a maxUses mapping one token has taken (read-only; `tanuki-sts explain`). */
export async function countUses (db: DynamoDBClient, table: string, tokenSha256: string, scope: string, role: string): Promise<number> {
  const result = await db.send(new QueryCommand({
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': { S: `token#${tokenSha256}` }, ':prefix': { S: useSlotPrefix(scope, role) } },
    Select: 'COUNT',
    ConsistentRead: true,
  }))
  return result.Count ?? 0
}

/** One page of a Scan of the whole table (unordered), optionally only records at or after `since`. */
export async function scanAudit (db: DynamoDBClient, table: string, q: { since?: string; startKey?: Record<string, AttributeValue> }) {
  const result = await db.send(new ScanCommand({
    TableName: table,
    ...(q.since && {
      FilterExpression: '#at >= :since', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':since': { S: q.since } },
    }),
    ExclusiveStartKey: q.startKey,
  }))
  return { records: (result.Items ?? []).map(i => unmarshall(i) as AuditRecord), next: result.LastEvaluatedKey }
}

/** One record by its key (the console's record page); undefined when there is none (or it expired). */
export async function getAuditRecord (db: DynamoDBClient, table: string, key: AuditKey): Promise<Record<string, unknown> | undefined> {
  const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key.pk }, sk: { S: key.sk } }, ConsistentRead: true }))
  return Item ? unmarshall(Item) : undefined
}

/**
 * A change to a mapping made in the console, in the audit table beside the issuances: who (the GitLab login that
 * signed in), what (the plan's field changes, as JSON) and how it ended. Its `kind` sets it apart from issuance and
 * denial records; it has no `project`, so the byProject index leaves it out.
 */
export interface MappingChangeRecord {
  /** `mapping#<scope>#<role>`: every change of one mapping in one partition. */
  readonly pk: string
  /** `change#<at>#<requestId>`. */
  readonly sk: string
  readonly kind: 'mapping-change'
  readonly at: string
  readonly requestId: string
  /** requested: written before the mapping; changed, or conflict (another writer got there first, nothing written). */
  readonly outcome: 'requested' | 'changed' | 'conflict'
  readonly action: 'create' | 'update'
  readonly scope: string
  readonly role: string
  readonly actor: string
  readonly actorId: string
  readonly changes: string
  readonly expiresAt: number
}

export const isMappingChange = (record: Readonly<Record<string, unknown>>): boolean => record.kind === 'mapping-change'

/** Written before the mapping is: a change that cannot be recorded is not made. */
export async function recordMappingChange (db: DynamoDBClient, table: string, record: MappingChangeRecord): Promise<void> {
  try {
    await db.send(new PutItemCommand({ TableName: table, Item: marshall(record, { removeUndefinedValues: true }),
      ConditionExpression: 'attribute_not_exists(pk)' }))
  }
  catch (err) { throw storeUnavailable('audit table', err) }
}

/** How the write went: changed, or refused as a conflict. */
export async function settleMappingChange (db: DynamoDBClient, table: string, key: AuditKey, outcome: 'changed' | 'conflict'): Promise<void> {
  try {
    await db.send(new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      UpdateExpression: 'SET outcome = :o',
      ConditionExpression: 'kind = :k AND outcome = :r',
      ExpressionAttributeValues: { ':o': { S: outcome }, ':k': { S: 'mapping-change' }, ':r': { S: 'requested' } },
    }))
  }
  catch (err) { throw storeUnavailable('audit table', err) }
}
