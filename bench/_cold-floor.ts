// The floor of a cold first issuance (cold-issuance.ts): the same I/O as the broker's, by a straight-line handler with no
// broker code, bundled like a Lambda. Keys from the table: one BatchGetItem (keys item + candidate mappings). Keys
// fetched: discovery and JWKS with fetch(), the mappings, and the keys item written back. Then one RS256 verify
// (node:crypto, or jose's compactVerify when bundled with FLOOR_VERIFIER "jose"), the audit PutItem, AssumeRole, and the
// event POSTed to sandbox's bus. Never deployed.
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto'
import type { JsonWebKey } from 'node:crypto'
import http from 'node:http'
import { BatchGetItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'

declare const FLOOR_VERIFIER: 'node' | 'jose'

export interface FloorConfig {
  keys: 'table' | 'fetch'
  tables: { mappings: string; audit: string; issuerKeys: string }
  dynamo: string
  sts: string
  bus: string
  role: string
  roleArn: string
}

const cfg = JSON.parse(process.env.BENCH_FLOOR ?? '{}') as FloorConfig
const db = new DynamoDBClient({ region: 'us-east-1', endpoint: cfg.dynamo })
const sts = new STSClient({ region: 'us-east-1', endpoint: cfg.sts })
const agent = new http.Agent({ keepAlive: true })

interface Jwk { kid: string; kty: string; n: string; e: string }
const json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, string>

async function verified (token: string, key: Jwk): Promise<void> {
  const [h, p, s] = token.split('.')
  if (FLOOR_VERIFIER === 'jose') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when this floor is measured: the load is what is timed
    const jose = require('jose') as typeof import('jose')
    await jose.compactVerify(token, await jose.importJWK({ ...key, alg: 'RS256' }, 'RS256'))
  }
  else if (!verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: { ...key } as JsonWebKey, format: 'jwk' }), Buffer.from(s, 'base64url'))) {
    throw new Error('floor: bad signature')
  }
}

function publish (body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(cfg.bus,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, res => {
        res.resume()
        res.on('end', () => resolve())
      })
    request.on('error', reject)
    request.end(body)
  })
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
  const sha = createHash('sha256').update(token).digest('hex')
  const record: Record<string, AttributeValue> = {
    pk: { S: `token#${sha}` }, sk: { S: `issue#${at}#${requestId}` }, at: { S: at }, requestId: { S: requestId },
    issuer: { S: c.iss }, project: { S: project }, project_path: { S: c.project_path }, project_id: { S: c.project_id },
    namespace_path: { S: c.namespace_path }, ref: { S: c.ref }, ref_type: { S: c.ref_type }, ref_protected: { S: c.ref_protected },
    pipeline_id: { S: c.pipeline_id }, job_id: { S: c.job_id }, user_login: { S: c.user_login }, environment: { S: c.environment },
    role: { S: cfg.role }, token_sha256: { S: sha }, jti: { S: c.jti }, expiresAt: { N: '1900000000' }, outcome: { S: 'issued' },
    scope: { S: project }, roleArn: { S: cfg.roleArn }, issuanceId: { S: requestId }, sessionName: { S: sessionName },
    durationSeconds: { N: '3600' }, sourceIdentity: { S: c.user_login },
  }
  await db.send(new PutItemCommand({ TableName: cfg.tables.audit, Item: record, ConditionExpression: 'attribute_not_exists(pk)' }))
  const out = await sts.send(new AssumeRoleCommand({
    RoleArn: cfg.roleArn, RoleSessionName: sessionName, DurationSeconds: 3600, SourceIdentity: c.user_login,
    Tags: ['project_path', 'ref', 'pipeline_id', 'job_id', 'user_login', 'environment'].map(k => ({ Key: `gitlab:${k}`, Value: c[k] })),
  }))
  await publish(JSON.stringify({ name: 'credentials-issued', payload: { ...Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v.S ?? v.N])),
    accessKeyId: out.Credentials?.AccessKeyId } }))
  return { statusCode: 200, body: JSON.stringify({ AccessKeyId: out.Credentials?.AccessKeyId, SecretAccessKey: out.Credentials?.SecretAccessKey,
    SessionToken: out.Credentials?.SessionToken }) }
}
