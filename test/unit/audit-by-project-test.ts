// Spec for queryAuditByProject (src/broker/audit.ts), which `audit list --project`, `stats --project`, `--impact` and the
// console read a project's records with. The byProject index keeps only keys (app.arc `projection keys`): a real local
// DynamoDB (dynalite) with the tables as app.arc declares them, so every record must be read back by key, whole.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import test from 'tape'
import { createAuditStore, queryAuditByProject, recordMappingChange } from '../../src/broker/audit'
import type { AuditRecord, AuditStore } from '../../src/broker/audit'
import { startTables } from '../helpers/tables'
import type { LocalTables } from '../helpers/tables'

const NAMES = { mappings: 'byproject-mappings', audit: 'byproject-audit', issuerKeys: 'byproject-issuer-keys' }
const PROJECT = 'https://gitlab.example.com/acme/payments/api'
let tables: LocalTables
let store: AuditStore

/** An issuance record of PROJECT (or another project) at this minute, with what its event adds. */
async function issued (minute: number, project = PROJECT): Promise<AuditRecord> {
  const at = new Date(Date.UTC(2026, 11, 1, 10, minute)).toISOString()
  const requestId = `req-${project.length}-${minute}`
  const record = await store.reserveIssuance({
    pk: `token#${'a'.repeat(60)}${String(minute).padStart(4, '0')}`, at, requestId, outcome: 'issued', issuer: 'https://gitlab.example.com', project,
    project_path: project.replace('https://gitlab.example.com/', ''), project_id: '4301877', ref: 'main', ref_type: 'branch', ref_protected: 'true',
    pipeline_id: '1504771836', job_id: String(8269345391 + minute), role: 'deploy', token_sha256: 'a'.repeat(64), jti: `jti-${minute}`,
    expiresAt: 1830000000, claims: { iat: 1796000000, namespace_id: '72815' }, withheld: ['user_email'], issuanceId: `iss-${minute}`,
    scope: project, roleArn: 'arn:aws:iam::111122223333:role/payments-deploy', sessionName: `gitlab-4301877-${minute}`, durationSeconds: 3600,
  }, undefined)
  const credentials = { accessKeyId: `ASIA${String(minute).padStart(16, '0')}`, expiration: '2026-12-01T11:00:00.000Z',
    assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/payments-deploy/x' }
  return store.recordCredentials({ pk: record.pk, sk: record.sk, issuanceId: `iss-${minute}` }, credentials)
}

test('Set up env', async t => {
  tables = await startTables(NAMES)
  store = createAuditStore(tables.db, NAMES.audit)
  const { Table } = await tables.db.send(new DescribeTableCommand({ TableName: NAMES.audit }))
  t.deepEqual(Table?.GlobalSecondaryIndexes?.map(i => [i.IndexName, i.Projection?.ProjectionType]), [['byProject', 'KEYS_ONLY']],
    'the audit table as app.arc declares it: its byProject index keeps keys only')
})

test('a project\'s records come back whole, newest first, though the index holds only their keys', async t => {
  const written = [await issued(1), await issued(2), await issued(3)]
  await issued(4, 'https://gitlab.example.com/acme/other')
  await recordMappingChange(tables.db, NAMES.audit, {
    pk: `mapping#${PROJECT}#deploy`, sk: 'change#2026-12-01T10:05:00.000Z#r', kind: 'mapping-change', at: '2026-12-01T10:05:00.000Z', requestId: 'r',
    outcome: 'changed', action: 'update', scope: PROJECT, role: 'deploy', actor: 'ada', actorId: '1', changes: '[]', expiresAt: 1830000000,
  })
  const { records, next } = await queryAuditByProject(tables.db, NAMES.audit, { project: PROJECT })
  t.deepEqual(records, [...written].reverse(),
    'every field of each record, the event\'s AccessKeyId, claims and withheld included; no other project; no mapping change')
  t.notOk(next, 'one page')
})

test('--since and a page size keep their meaning: the index decides which records, the table supplies them', async t => {
  const since = await queryAuditByProject(tables.db, NAMES.audit, { project: PROJECT, since: '2026-12-01T10:02:00.000Z' })
  t.deepEqual(since.records.map(r => r.jti), ['jti-3', 'jti-2'], 'records at or after --since')
  const first = await queryAuditByProject(tables.db, NAMES.audit, { project: PROJECT, limit: 2 })
  t.deepEqual(first.records.map(r => r.jti), ['jti-3', 'jti-2'], 'a page of 2')
  const second = await queryAuditByProject(tables.db, NAMES.audit, { project: PROJECT, limit: 2, startKey: first.next })
  t.deepEqual(second.records.map(r => r.jti), ['jti-1'], 'the next page from where the first stopped')
})

test('a page of more records than one BatchGetItem reads (100) is read in several, still in the index\'s order', async t => {
  const project = 'https://gitlab.example.com/acme/busy'
  for (let minute = 10; minute < 160; minute++) await issued(minute, project)
  const { records } = await queryAuditByProject(tables.db, NAMES.audit, { project, limit: 500 })
  t.equal(records.length, 150, 'all 150')
  t.deepEqual(records.map(r => r.jti), Array.from({ length: 150 }, (_, i) => `jti-${159 - i}`), 'newest first')
  t.ok(records.every(r => typeof r.accessKeyId === 'string' && r.claims !== undefined), 'each whole')
})

test('Teardown', async t => {
  await tables.stop()
  t.pass('stopped')
})
