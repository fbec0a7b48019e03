// The floor of figure 1: the I/O one issuance cannot avoid, done by a straight-line script with no broker code —
// one RS256 verify with a cached key, 1 BatchGetItem, 1 conditional PutItem, 1 AssumeRole. What it is compared with is issuance.ts's.
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { BatchGetItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { compactVerify, importJWK } from 'jose'
import type { JWK } from 'jose'
import { ROLE, ROLE_ARN, TABLES } from './_local'

export interface Floor {
  (token: string): Promise<void>
  destroy (): void
}

/**
 * `verifier`: 'node' checks the signature with node:crypto (synchronous, the cheapest RS256 verify there is); 'jose'
 * with jose's compactVerify on a cached key — the library the broker verifies with (WebCrypto, asynchronous).
 */
export function createFloor (o: { publicJwk: JWK; dynamoEndpoint: string; stsEndpoint: string; verifier?: 'node' | 'jose' }): Floor {
  const key: KeyObject = createPublicKey({ key: o.publicJwk as JsonWebKey, format: 'jwk' })
  const joseKey = importJWK(o.publicJwk, 'RS256')
  const db = new DynamoDBClient({ region: 'us-east-1', endpoint: o.dynamoEndpoint })
  const sts = new STSClient({ region: 'us-east-1', endpoint: o.stsEndpoint })

  async function floor (token: string): Promise<void> {
    const [header, payload, signature] = token.split('.')
    if (o.verifier === 'jose') await compactVerify(token, await joseKey)
    else if (!verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) throw new Error('floor: bad signature')
    const c = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, string>
    const project = `${c.iss}/${c.project_path}`
    const scopes = [project, `${c.iss}/acme/payments/*`, `${c.iss}/acme/payments/**`, `${c.iss}/acme/**`, `${c.iss}/**`]
    await db.send(new BatchGetItemCommand({
      RequestItems: { [TABLES.mappings]: { Keys: scopes.map(scope => ({ scope: { S: scope }, role: { S: ROLE } })), ConsistentRead: true } },
    }))
    const at = new Date().toISOString()
    const requestId = randomUUID()
    const sessionName = `gitlab-${c.project_id}-${c.job_id}`
    const tokenSha256 = createHash('sha256').update(token).digest('hex')
    // The same attributes the broker's issuance record carries (its values, written by hand), so both store alike.
    await db.send(new PutItemCommand({
      TableName: TABLES.audit,
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: {
        pk: { S: `token#${tokenSha256}` }, sk: { S: `issue#${at}#${requestId}` }, at: { S: at }, requestId: { S: requestId },
        issuer: { S: c.iss }, project: { S: project }, project_path: { S: c.project_path }, project_id: { S: c.project_id },
        namespace_path: { S: c.namespace_path }, ref: { S: c.ref }, ref_type: { S: c.ref_type }, ref_protected: { S: c.ref_protected },
        pipeline_id: { S: c.pipeline_id }, job_id: { S: c.job_id }, user_login: { S: c.user_login }, environment: { S: c.environment },
        role: { S: ROLE }, token_sha256: { S: tokenSha256 }, jti: { S: c.jti }, expiresAt: { N: '1900000000' }, outcome: { S: 'issued' },
        scope: { S: project }, roleArn: { S: ROLE_ARN }, issuanceId: { S: requestId }, sessionName: { S: sessionName },
        durationSeconds: { N: '3600' }, sourceIdentity: { S: c.user_login },
      },
    }))
    await sts.send(new AssumeRoleCommand({
      RoleArn: ROLE_ARN,
      RoleSessionName: sessionName,
      DurationSeconds: 3600,
      SourceIdentity: c.user_login,
      Tags: ['project_path', 'ref', 'pipeline_id', 'job_id', 'user_login', 'environment'].map(k => ({ Key: `gitlab:${k}`, Value: c[k] })),
    }))
  }
  return Object.assign(floor, { destroy: () => { db.destroy(); sts.destroy() } })
}
