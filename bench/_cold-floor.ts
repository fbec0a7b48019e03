// The floor of a cold first issuance (cold-issuance.ts): the same I/O as the broker's, by a straight-line handler with no
// broker code, bundled like a Lambda. Keys from the table: one BatchGetItem (keys item + candidate mappings). Keys
// fetched: discovery and JWKS with fetch(), the mappings, and the keys item written back. Then one RS256 verify
// (node:crypto, or jose's compactVerify when bundled with FLOOR_VERIFIER "jose"), the audit PutItem, AssumeRole, and the
// event published to sandbox's bus or signed to SNS (_floor-io.ts). Never deployed.
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import { BatchGetItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { floorEvent, floorPublisher, floorRecord } from './_floor-io'
import type { FloorEvents } from './_floor-io'

declare const FLOOR_VERIFIER: 'node' | 'jose'

export interface FloorConfig {
  keys: 'table' | 'fetch'
  tables: { mappings: string; audit: string; issuerKeys: string }
  dynamo: string
  sts: string
  events: FloorEvents
  role: string
  roleArn: string
}

const cfg = JSON.parse(process.env.BENCH_FLOOR ?? '{}') as FloorConfig
const db = new DynamoDBClient({ region: 'us-east-1', endpoint: cfg.dynamo })
const sts = new STSClient({ region: 'us-east-1', endpoint: cfg.sts })
const publish = floorPublisher(cfg.events)

interface Jwk { kid: string; kty: string; n: string; e: string }
const json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, string>

async function verified (token: string, key: Jwk): Promise<void> {
  const [h, p, s] = token.split('.')
  if (FLOOR_VERIFIER === 'jose') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jose = require('jose') as typeof import('jose')
    await jose.compactVerify(token, await jose.importJWK({ ...key, alg: 'RS256' }, 'RS256'))
  }
  else if (!verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: { ...key } as JsonWebKey, format: 'jwk' }), Buffer.from(s, 'base64url'))) {
    throw new Error('floor: bad signature')
  }
}

export async function handler (event: { headers: Record<string, string> }): Promise<{ statusCode: number; body: string }> {
  const token = event.headers.authorization.slice('Bearer '.length)
  const [h, p] = token.split('.')
  const header = json(h)
  const c = json(p)
  const project = `${c.iss}/${c.project_path}`
  const segments = c.project_path.split('/')
  const scopes = [project, `${c.iss}/${segments.slice(0, -1).join('/')}/*`,
    ...segments.slice(0, -1).map((_, i) => `${c.iss}/${segments.slice(0, segments.length - 1 - i).join('/')}/**`), `${c.iss}/**`]
  const mappingKeys = scopes.map(scope => ({ scope: { S: scope }, role: { S: cfg.role } }))
  let jwks: { keys: Jwk[] }
  let source = ''
  if (cfg.keys === 'fetch') {
    const doc = await (await fetch(`${c.iss}/.well-known/openid-configuration`)).json() as { jwks_uri: string }
    source = doc.jwks_uri
    jwks = await (await fetch(source)).json() as { keys: Jwk[] }
    await db.send(new BatchGetItemCommand({ RequestItems: { [cfg.tables.mappings]: { Keys: mappingKeys, ConsistentRead: true } } }))
  }
  else {
    const read = await db.send(new BatchGetItemCommand({
      RequestItems: { [cfg.tables.mappings]: { Keys: mappingKeys, ConsistentRead: true },
        [cfg.tables.issuerKeys]: { Keys: [{ issuer: { S: c.iss } }], ConsistentRead: true } },
    }))
    jwks = JSON.parse(read.Responses?.[cfg.tables.issuerKeys]?.[0]?.jwks?.S ?? '{"keys":[]}') as { keys: Jwk[] }
  }
  const key = jwks.keys.find(k => k.kid === header.kid)
  if (!key) throw new Error('floor: no key')
  await verified(token, key)
  const at = new Date().toISOString()
  if (cfg.keys === 'fetch') {
    await db.send(new PutItemCommand({
      TableName: cfg.tables.issuerKeys,
      Item: { issuer: { S: c.iss }, jwks: { S: JSON.stringify(jwks) }, source: { S: source }, fetchedAt: { S: at }, updatedBy: { S: 'broker' } },
    }))
  }
  const requestId = randomUUID()
  const sessionName = `gitlab-${c.project_id}-${c.job_id}`
  const record = floorRecord(c, { sha256: createHash('sha256').update(token).digest('hex'), requestId, at, role: cfg.role, roleArn: cfg.roleArn })
  await db.send(new PutItemCommand({ TableName: cfg.tables.audit, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }))
  const out = await sts.send(new AssumeRoleCommand({
    RoleArn: cfg.roleArn, RoleSessionName: sessionName, DurationSeconds: 3600, SourceIdentity: c.user_login,
    Tags: ['project_path', 'ref', 'pipeline_id', 'job_id', 'user_login', 'environment'].map(k => ({ Key: `gitlab:${k}`, Value: c[k] })),
  }))
  await publish(floorEvent(record, {
    accessKeyId: String(out.Credentials?.AccessKeyId), expiration: String(out.Credentials?.Expiration?.toISOString()),
    assumedRoleArn: String(out.AssumedRoleUser?.Arn),
  }))
  return { statusCode: 200, body: JSON.stringify({ AccessKeyId: out.Credentials?.AccessKeyId, SecretAccessKey: out.Credentials?.SecretAccessKey,
    SessionToken: out.Credentials?.SessionToken }) }
}
