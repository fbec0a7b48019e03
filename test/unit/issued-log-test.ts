// Spec for the event Lambda's log line (src/broker/issued-log.ts): the record as stored, less its key, which the line's
// own fields spell out (CloudWatch bills every byte). A real local DynamoDB (dynalite) holds the records.
import test from 'tape'
import { createAuditStore, useSlotPrefix } from '../../src/broker/audit'
import type { AuditRecord, AuditStore } from '../../src/broker/audit'
import { recordIssuedEvent } from '../../src/broker/issued-log'
import type { Fields } from '../../src/broker/log'
import { startTables } from '../helpers/tables'
import type { LocalTables } from '../helpers/tables'

const NAMES = { mappings: 'issued-log-mappings', audit: 'issued-log-audit', issuerKeys: 'issued-log-issuer-keys' }
const SCOPE = 'https://gitlab.example.com/acme/payments/api'
let tables: LocalTables
let store: AuditStore

/** An issuance's record (a use slot with maxUses), its event's line, and the record as the event left it. */
async function issued (jti: string, maxUses?: number): Promise<{ line: Fields; record: AuditRecord }> {
  const reserved = await store.reserveIssuance({
    pk: `token#${jti.padEnd(64, '0')}`, at: '2026-12-01T10:00:00.000Z', requestId: `req-${jti}`, outcome: 'issued', issuer: 'https://gitlab.example.com',
    project: SCOPE, project_path: 'acme/payments/api', project_id: '4301877', ref: 'main', ref_type: 'branch', ref_protected: 'true',
    pipeline_id: '1504771836', job_id: '8269345391', role: 'deploy', token_sha256: jti.padEnd(64, '0'), jti, expiresAt: 1830000000,
    issuanceId: `iss-${jti}`, scope: SCOPE, roleArn: 'arn:aws:iam::111122223333:role/payments-deploy', sessionName: 'gitlab-4301877-8269345391',
    durationSeconds: 3600,
  }, maxUses)
  const lines: Fields[] = []
  await recordIssuedEvent({ ...reserved, accessKeyId: 'ASIAEXAMPLEEXAMPLE01', expiration: '2026-12-01T11:00:00.000Z',
    assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/payments-deploy/x' },
  store, (_level, msg, fields = {}) => void (msg === 'credentials-issued' && lines.push(fields)))
  return { line: lines[0], record: reserved }
}

test('Set up env', async t => {
  tables = await startTables(NAMES)
  store = createAuditStore(tables.db, NAMES.audit)
  t.pass('dynalite is up')
})

test('an issuance\'s line leaves out the record\'s key, and its fields spell the key out', async t => {
  const { line, record } = await issued('a1')
  t.ok(line, 'the issuance is logged')
  t.notOk('pk' in line || 'sk' in line, 'no pk, no sk')
  t.equal(`token#${String(line.token_sha256)}`, record.pk, 'pk is token# and the token\'s SHA-256')
  t.equal(`issue#${String(line.at)}#${String(line.requestId)}`, record.sk, 'sk is issue#, the time and the request id')
  t.equal(line.accessKeyId, 'ASIAEXAMPLEEXAMPLE01', 'with the AccessKeyId the event added')
})

test('a maxUses slot\'s line spells its key out from the scope, the role and the use', async t => {
  const { line, record } = await issued('b2', 5)
  t.equal(`${useSlotPrefix(String(line.scope), String(line.role))}${String(line.use)}`, record.sk, 'sk is use#, the scope, the role and the use')
  t.equal(`token#${String(line.token_sha256)}`, record.pk, 'pk as before')
})

test('Teardown', async t => {
  await tables.stop()
  t.pass('stopped')
})
