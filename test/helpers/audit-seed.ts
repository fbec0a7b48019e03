// Audit records written straight to a test sandbox's table, as an older broker (or days ago) would have written them:
// no `claims` field, the fields of AuditRecord only. For the suites of `stats` and `mappings apply --impact`.
import { randomUUID } from 'node:crypto'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { AuditRecord } from '../../src/broker/audit'
import type { BrokerEnv } from './broker-env'

const DAY_MS = 86_400_000

/** The UTC date `daysAgo` days back. */
export const dayOf = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10)

/** Writes a record `daysAgo` days back (noon UTC that day), for a project of the local issuer (acme/payments/api unless given). */
export async function seedAuditRecord (
  env: BrokerEnv, daysAgo: number, fields: Partial<AuditRecord> & Pick<AuditRecord, 'outcome' | 'role'>
): Promise<AuditRecord> {
  const at = `${dayOf(daysAgo)}T12:00:00.000Z`
  const requestId = randomUUID()
  const projectPath = fields.project_path ?? 'acme/payments/api'
  const record: AuditRecord = {
    pk: `token#${randomUUID()}`, sk: `${fields.outcome === 'denied' ? 'deny' : 'issue'}#${at}#${requestId}`, at, requestId,
    issuer: env.issuer.url, project: `${env.issuer.url}/${projectPath}`, project_path: projectPath, project_id: '4301877',
    namespace_path: projectPath.split('/').slice(0, -1).join('/'), ref: 'main', ref_type: 'branch', ref_protected: 'true',
    pipeline_id: '1504771836', job_id: String(8269345000 + daysAgo), token_sha256: 'seeded', jti: requestId,
    expiresAt: Math.floor(Date.now() / 1000) + 86400, ...fields,
  }
  await env.db.send(new PutItemCommand({ TableName: env.tables.audit, Item: marshall(record, { removeUndefinedValues: true }) }))
  return record
}
