// Spec for src/broker/key-set.ts and the issuer-keys item (src/broker/issuer-keys.ts): what the broker will verify with,
// whether the keys come from the issuer, a file or the table. Each refusal names its rule; any JSON parses or is refused.
import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import test from 'tape'
import { KEYS_ITEM_ATTRIBUTES, parseKeysItem, readKeysItem, toKeysItem } from '../../src/broker/issuer-keys'
import type { StoredKeys } from '../../src/broker/issuer-keys'
import { KeySetInvalid } from '../../src/broker/errors'
import { MAX_KEYS, parseKeySet, sameKeys } from '../../src/broker/key-set'

const runs = Number(process.env.FC_RUNS ?? 200)
const ISSUER = 'https://gitlab.example.com'

function rsaJwk (bits: number, kid: string): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits })
  return { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }
}
const good = rsaJwk(2048, 'k1')
const other = rsaJwk(2048, 'k2')
const ec = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid: 'ec1' }

const problemsOf = (raw: unknown): string => {
  try { parseKeySet(raw); return 'ok' }
  catch (err) { return err instanceof KeySetInvalid ? err.problems.join('; ') : `threw ${String(err)}` }
}

test('parseKeySet: GitLab\'s shape parses; only the public RSA members are kept', t => {
  const { set, skipped } = parseKeySet({ keys: [{ ...good, x5c: ['MII...'], ext: true }, other] })
  t.deepEqual(set.keys.map(k => Object.keys(k).sort()), [['alg', 'e', 'kid', 'kty', 'n', 'use'], ['alg', 'e', 'kid', 'kty', 'n', 'use']], 'kty, kid, n, e, alg, use')
  t.deepEqual(skipped, [], 'nothing skipped')
  t.ok(sameKeys(set, parseKeySet({ keys: [other, good] }).set), 'the same keys in another order are the same set')
  t.notOk(sameKeys(set, parseKeySet({ keys: [good] }).set), 'a key fewer is another set')
  t.end()
})

test('parseKeySet: keys it cannot verify RS256 with are left out, each named', t => {
  const { set, skipped } = parseKeySet({
    keys: [good, ec, { ...other, kid: 'enc', use: 'enc' }, { ...other, kid: 'ps', alg: 'PS256' }, rsaJwk(1024, 'small'), { ...other, kid: undefined }, { ...other, kid: 'ops', key_ops: ['encrypt'] }],
  })
  t.deepEqual(set.keys.map(k => k.kid), ['k1'], 'only the RS256 signing key is kept')
  t.deepEqual(skipped, [
    'keys[1] (kid ec1): kty "EC", not an RS256 signing key',
    'keys[2] (kid enc): use "enc", not an RS256 signing key',
    'keys[3] (kid ps): alg "PS256", not an RS256 signing key',
    'keys[4] (kid small): a 1024-bit RSA key (RS256 keys have 2048 to 8192 bits)',
    'keys[5]: no kid of 1 to 256 printable characters (GitLab names every key)',
    'keys[6] (kid ops): key_ops without "verify", not an RS256 signing key',
  ], 'each with why')
  t.end()
})

test('parseKeySet: each refusal names its rule', t => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an object', [good], /^not a JWK set \(a JSON object with a "keys" array\)$/],
    ['keys not an array', { keys: good }, /^not a JWK set/],
    ['no key at all', { keys: [] }, /^no RS256 signing key in the set$/],
    ['only keys it cannot use', { keys: [ec] }, /^no RS256 signing key in the set \(keys\[0\] \(kid ec1\): kty "EC"/],
    ['private key material', { keys: [{ ...good, d: 'AQAB', qi: 'AQAB' }] }, /^keys\[0\] holds private key material \(d, qi\): give the public keys only$/],
    ['a symmetric key (k) anywhere', { keys: [good, { kty: 'oct', k: 'c2VjcmV0' }] }, /keys\[1\] holds private key material \(k\)/],
    ['a repeated kid', { keys: [good, { ...other, kid: 'k1' }] }, /^keys\[1\] repeats the kid k1$/],
    ['a key that is not an object', { keys: [good, 'k2'] }, /^keys\[1\] is not a JSON object$/],
    ['too many keys', { keys: Array.from({ length: MAX_KEYS + 1 }, (_, i) => ({ ...good, kid: `k${i}` })) }, /^21 keys; at most 20 are kept$/],
  ]
  for (const [name, raw, want] of cases) t.match(problemsOf(raw), want, name)
  t.equal(problemsOf({ keys: [{ ...good, e: 'AQA' }, good] }), 'ok', 'a malformed exponent next to a good key: that key skipped, the set kept')
  t.end()
})

test('parseKeySet: any JSON value parses or is a KeySetInvalid, never another error', t => {
  const jwkish = fc.record({
    kty: fc.constantFrom('RSA', 'EC', 'oct', 1), kid: fc.oneof(fc.string(), fc.constant(undefined)), n: fc.oneof(fc.string(), fc.constant(good.n)),
    e: fc.oneof(fc.string(), fc.constantFrom('AQAB', 'Aw', 'AA', 'AQAA')), use: fc.oneof(fc.constant(undefined), fc.string()), alg: fc.oneof(fc.constant(undefined), fc.constantFrom('RS256', 'none')),
  }, { requiredKeys: [] })
  fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.record({ keys: fc.array(fc.oneof(jwkish, fc.jsonValue()), { maxLength: 4 }) })), raw => {
    try {
      const { set } = parseKeySet(raw)
      return set.keys.length > 0 && set.keys.every(k => k.kty === 'RSA' && typeof k.kid === 'string')
    }
    catch (err) { return err instanceof KeySetInvalid && err.problems.length > 0 }
  }), { numRuns: runs })
  t.pass(`${runs} runs`)
  t.end()
})

const stored: StoredKeys = { issuer: ISSUER, set: parseKeySet({ keys: [good] }).set, source: `${ISSUER}/oauth/discovery/keys`, fetchedAt: '2026-12-01T10:00:00.000Z', updatedBy: 'broker' }

test('the issuer-keys item: what the broker writes reads back the same, with exactly the attributes IAM allows', t => {
  const item = toKeysItem(stored)
  t.deepEqual(Object.keys(item).sort(), [...KEYS_ITEM_ATTRIBUTES].sort(), 'issuer, jwks, source, fetchedAt, updatedBy')
  t.deepEqual(parseKeysItem(item, ISSUER), stored, 'round trip')
  t.equal(readKeysItem(undefined, ISSUER), undefined, 'no item: nothing stored')
  t.end()
})

test('the issuer-keys item: read as strictly as a fetched set, every problem named', t => {
  const item = toKeysItem(stored)
  const problems = (changed: Record<string, unknown>, issuer = ISSUER) => {
    const read = readKeysItem({ ...item, ...changed } as never, issuer)
    return read instanceof KeySetInvalid ? read.problems.join('; ') : 'ok'
  }
  t.equal(problems({}, 'https://gitlab.com'), `the item is for "${ISSUER}", not "https://gitlab.com"`, 'the item of another issuer')
  t.equal(problems({ extra: { S: 'x' }, kid: { S: 'y' } }), 'unknown attributes "extra", "kid"', 'attributes the broker never writes')
  t.equal(problems({ fetchedAt: { S: 'yesterday' } }), 'fetchedAt is not an ISO 8601 UTC time', 'a time that is not one')
  t.equal(problems({ source: { N: '1' } }), 'source is not a non-empty string attribute', 'a number where text belongs')
  t.equal(problems({ updatedBy: { S: 'x'.repeat(300) } }), 'updatedBy is longer than 256 bytes', 'an oversized field')
  t.equal(problems({ jwks: { S: 'x'.repeat(70_000) } }), 'jwks is longer than 65536 bytes', 'an oversized set')
  t.match(problems({ jwks: { S: JSON.stringify({ keys: [good, ec] }) } }), /^jwks holds keys the broker never stores: keys\[1\] \(kid ec1\): kty "EC"/, 'a key it would have skipped')
  t.match(problems({ jwks: { S: JSON.stringify({ keys: [{ ...good, d: 'AQAB' }] }) } }), /^jwks: keys\[0\] holds private key material/, 'private material')
  t.match(problems({ jwks: { S: '{' } }), /^jwks is not JSON/, 'not JSON')
  const missing = { ...item } as Record<string, unknown>
  delete missing.source
  t.equal(readKeysItem(missing as never, ISSUER) instanceof KeySetInvalid, true, 'a missing attribute')
  t.end()
})
