// Spec for src/broker/verify-and-find.ts: a cold container reads its issuer's keys and the claimed scopes' mappings in
// one BatchGetItem, and uses those mappings only for the scopes the verified claims name. Real dynalite and local issuer.
import { marshall } from '@aws-sdk/util-dynamodb'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import test from 'tape'
import { createBatchReader } from '../../src/broker/batch-read'
import type { BatchReader } from '../../src/broker/batch-read'
import { BrokerError } from '../../src/broker/errors'
import { createIssuerKeysStore } from '../../src/broker/issuer-keys'
import { createMappingStore } from '../../src/broker/mappings'
import type { MappingStore } from '../../src/broker/mappings'
import { createTokenVerifier } from '../../src/broker/token'
import type { TokenVerifier } from '../../src/broker/token'
import { createVerifyAndFind } from '../../src/broker/verify-and-find'
import { startLocalIssuer } from '../../src/local/issuer'
import type { LocalIssuer } from '../../src/local/issuer'
import { startTables } from '../helpers/tables'
import type { LocalTables } from '../helpers/tables'

const NAMES = { mappings: 'vf-mappings', audit: 'vf-audit', issuerKeys: 'vf-issuer-keys' }
const AUD = 'https://sts.tanuki.test'
let tables: LocalTables
let issuer: LocalIssuer

/** The broker's parts on dynalite, with each store call counted. */
function broker (wrap: (v: TokenVerifier) => TokenVerifier = v => v) {
  const calls = { batch: 0, find: 0 }
  const verifier = createTokenVerifier({ issuers: [issuer.url], audience: AUD, allowHttpIssuers: true },
    { store: createIssuerKeysStore(tables.db, NAMES.issuerKeys) })
  const batch = createBatchReader(tables.db, NAMES)
  const mappings = createMappingStore(tables.db, NAMES.mappings)
  const readTogether: BatchReader = request => { calls.batch++; return batch(request) }
  const counted: MappingStore = { find: (scopes, role) => { calls.find++; return mappings.find(scopes, role) } }
  return { calls, verifier, run: createVerifyAndFind({ verifier: wrap(verifier), mappings: counted, readTogether }) }
}

test('Set up env', async t => {
  tables = await startTables(NAMES)
  issuer = await startLocalIssuer({ audience: AUD })
  const mapping = { scope: `${issuer.url}/acme/payments/api`, role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/x', pin: { project_id: '4301877' },
    conditions: { ref: ['main'] }, enabled: true }
  await tables.db.send(new PutItemCommand({ TableName: NAMES.mappings, Item: marshall(mapping) }))
  t.pass('dynalite and the local issuer are up, one mapping stored')
})

test('cold: the keys and the candidate mappings in one read; warm: the mappings alone, after verifying', async t => {
  const b = broker()
  const cold = await b.run(await issuer.mint(), 'deploy', new Date())
  t.deepEqual(b.calls, { batch: 1, find: 0 }, 'cold: one BatchGetItem, no other read')
  t.deepEqual([...cold.found.keys()], [`${issuer.url}/acme/payments/api`], 'it found the project\'s mapping')
  t.deepEqual(cold.scopes.slice(0, 2), [`${issuer.url}/acme/payments/api`, `${issuer.url}/acme/payments/*`], 'for the verified claims\' scopes')
  await b.run(await issuer.mint(), 'deploy', new Date())
  t.deepEqual(b.calls, { batch: 1, find: 1 }, 'warm: the mapping read alone')
})

test('a token that does not verify: the cold read happened, but nothing read is used, and nothing is read after', async t => {
  const b = broker()
  const [h, p] = (await issuer.mint()).split('.')
  let code = ''
  try { await b.run(`${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`, 'deploy', new Date()) }
  catch (err) { code = err instanceof BrokerError ? `${err.status} ${err.code}` : String(err) }
  t.equal(code, '401 invalid_token', 'refused')
  t.deepEqual(b.calls, { batch: 1, find: 0 }, 'the one cold read, no mapping read after it')
})

test('a forged token claiming a project 300 groups deep: the cold read takes the keys alone, and the answer is 401', async t => {
  const b = broker()
  const deep = Array.from({ length: 300 }, () => 'g').join('/')
  const [h, p] = (await issuer.mint({ namespace_path: deep, project_path: `${deep}/api` })).split('.')
  let code = ''
  try { await b.run(`${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`, 'deploy', new Date()) }
  catch (err) { code = err instanceof BrokerError ? `${err.status} ${err.code}` : String(err) }
  t.equal(code, '401 invalid_token', '401, not a 503 from a BatchGetItem of 300 keys')
  t.deepEqual(b.calls, { batch: 1, find: 0 }, 'one read, of the keys')
})

test('if the verified claims named other scopes than the payload read before, the mappings are read again for them', async t => {
  // Cannot happen with jose (the verified payload is the one read), so a verifier is bent to show the rule holds anyway.
  const b = broker(v => Object.assign((jwt: string, now: Date) => v(jwt, now), {
    ...v,
    read: (jwt: string) => ({ ...v.read(jwt), payload: { ...v.read(jwt).payload, project_path: 'evil/api', namespace_path: 'evil' } }),
  }))
  const r = await b.run(await issuer.mint(), 'deploy', new Date())
  t.deepEqual(b.calls, { batch: 1, find: 1 }, 'the speculative read is set aside and the verified scopes read')
  t.equal(r.scopes[0], `${issuer.url}/acme/payments/api`, 'the scopes are the verified claims\'')
  t.deepEqual([...r.found.keys()], [`${issuer.url}/acme/payments/api`], 'and so is what was found')
})

test('Teardown', async t => {
  await issuer.close()
  await tables.stop()
  t.pass('stopped')
})
