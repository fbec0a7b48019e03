// Spec for src/broker/audit-claims.ts: what an audit record keeps of a token's claims (all a condition may name, the
// personal ones only when a mapping names them), values DynamoDB can store, and which claims a record can answer for.
import { marshall } from '@aws-sdk/util-dynamodb'
import fc from 'fast-check'
import test from 'tape'
import { keptClaims, namedPersonalClaims, recordedClaims, storable } from '../../src/broker/audit-claims'
import { claimValues } from '../../src/broker/claims'
import type { GitLabClaims } from '../../src/broker/claims'
import { parseMapping } from '../../src/broker/mapping'
import { DEFAULT_CLAIMS } from '../../src/local/default-claims'

const token = { ...DEFAULT_CLAIMS, user_identities: [{ provider: 'ldap', extern_uid: 'cn=Ada' }] } as unknown as GitLabClaims
const mapping = (conditions: Record<string, string>) => parseMapping({
  scope: 'https://gitlab.com/acme/payments/api', role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/x', pin: 'none', conditions,
})

test('kept: every claim a condition may name that the record has no field for, and iat; never the e-mail unasked', t => {
  const kept = keptClaims(token, new Set())
  t.plan(6)
  t.equal(kept.claims.namespace_id, '72815', 'namespace_id (a /* pin)')
  t.equal(kept.claims.iat, DEFAULT_CLAIMS.iat, 'iat (maxTokenAge)')
  t.equal(kept.claims.runner_id, 12270859, 'a number stays a number')
  t.notOk('ref' in kept.claims || 'project_path' in kept.claims, 'not the claims the record holds as its own fields')
  t.notOk('user_email' in kept.claims || 'user_identities' in kept.claims, 'no e-mail, no external identities')
  t.deepEqual(kept.withheld, ['user_email', 'user_identities'], 'only that the token carried them')
})

test('personal claims are kept when a mapping read for the request names them in a condition', t => {
  const named = namedPersonalClaims([mapping({ user_email: '*@example.com' }), mapping({ ref: 'main' })])
  const kept = keptClaims(token, named)
  t.plan(3)
  t.deepEqual([...named], ['user_email'], 'the e-mail is named')
  t.equal(kept.claims.user_email, 'ada@example.com', 'and kept')
  t.deepEqual(kept.withheld, ['user_identities'], 'the identities still withheld')
})

test('a record answers for every claim but those withheld; an older record only for its own fields', t => {
  const newer = recordedClaims({ issuer: 'https://gitlab.com', ref: 'main', claims: { namespace_id: '1' }, withheld: ['user_email'] })
  const older = recordedClaims({ issuer: 'https://gitlab.com', ref: 'main' })
  t.plan(6)
  t.deepEqual(newer.claims, { iss: 'https://gitlab.com', ref: 'main', namespace_id: '1' }, 'fields and kept claims, iss from issuer')
  t.deepEqual([newer.unknown('environment'), newer.unknown('user_email')], [false, true], 'absent means absent in the token; withheld is unknown')
  t.deepEqual(older.claims, { iss: 'https://gitlab.com', ref: 'main' }, 'an older record: its fields')
  t.equal(older.unknown('ref'), false, 'which it answers for')
  t.equal(older.unknown('environment'), false, 'environment among them (recorded whenever the token had one)')
  t.equal(older.unknown('namespace_id'), true, 'but nothing it had no field for')
})

test('property: a stored claim marshalls, and compares in a condition exactly as the token\'s', t => {
  const claim = fc.jsonValue({ maxDepth: 3 }).chain(v => fc.oneof(fc.constant(v), fc.double({ noNaN: true }), fc.bigInt().map(Number)))
  t.plan(1)
  fc.assert(fc.property(claim, value => {
    const stored = storable(value)
    marshall({ v: stored }, { removeUndefinedValues: true })
    return JSON.stringify(claimValues(stored)) === JSON.stringify(claimValues(value))
  }), { numRuns: Number(process.env.FC_RUNS ?? 300) })
  t.pass('storable(v) marshalls, and claimValues(storable(v)) equals claimValues(v)')
})
