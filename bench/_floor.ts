// The floor of figure 1: the I/O one issuance cannot avoid, done by a straight-line script with no broker code —
// one RS256 verify with a cached key, 1 BatchGetItem, 1 conditional PutItem, 1 AssumeRole, and the event publish when
// given one (_floor-io.ts). What it is compared with is issuance.ts's.
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto'
import type { JsonWebKey, KeyObject } from 'node:crypto'
import { BatchGetItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { compactVerify, importJWK } from 'jose'
import type { JWK } from 'jose'
import { floorEvent, floorPublisher, floorRecord } from './_floor-io'
import type { FloorEvents } from './_floor-io'
import { ROLE, ROLE_ARN, TABLES } from './_local'

export interface Floor {
  (token: string): Promise<void>
  destroy (): void
}

/**
 * `events`: where the event goes (sandbox's bus or signed SNS), as the broker's does; none: no publish.
 * `verifier`: 'node' checks the signature with node:crypto (synchronous, the cheapest RS256 verify there is); 'jose'
 * with jose's compactVerify on a cached key — the library the broker verifies with (WebCrypto, asynchronous).
 */
export function createFloor (o: { publicJwk: JWK; dynamoEndpoint: string; stsEndpoint: string; verifier?: 'node' | 'jose'; events?: FloorEvents }): Floor {
  const key: KeyObject = createPublicKey({ key: o.publicJwk as JsonWebKey, format: 'jwk' })
  const joseKey = importJWK(o.publicJwk, 'RS256')
  const db = new DynamoDBClient({ region: 'us-east-1', endpoint: o.dynamoEndpoint })
  const sts = new STSClient({ region: 'us-east-1', endpoint: o.stsEndpoint })
  const publish = o.events && floorPublisher(o.events)

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
    // The same attributes the broker's issuance record carries (its values, written by hand), so both store alike.
    const item = floorRecord(c, { sha256: createHash('sha256').update(token).digest('hex'), requestId, at, role: ROLE, roleArn: ROLE_ARN })
    await db.send(new PutItemCommand({ TableName: TABLES.audit, ConditionExpression: 'attribute_not_exists(pk)', Item: item }))
    const out = await sts.send(new AssumeRoleCommand({
      RoleArn: ROLE_ARN,
      RoleSessionName: sessionName,
      DurationSeconds: 3600,
      SourceIdentity: c.user_login,
      Tags: ['project_path', 'ref', 'pipeline_id', 'job_id', 'user_login', 'environment'].map(k => ({ Key: `gitlab:${k}`, Value: c[k] })),
    }))
    if (publish) {
      await publish(floorEvent(item, {
        accessKeyId: String(out.Credentials?.AccessKeyId), expiration: String(out.Credentials?.Expiration?.toISOString()),
        assumedRoleArn: String(out.AssumedRoleUser?.Arn),
      }))
    }
  }
  return Object.assign(floor, { destroy: () => { db.destroy(); sts.destroy() } })
}
