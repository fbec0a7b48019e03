// Token checks in-process, clock fixed: each case starts from the fixture's claim set, changes one thing, expects one code.
import { generateKeyPairSync, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { BrokerError } from '../../src/broker/errors'
import { createTokenVerifier, sha256Hex } from '../../src/broker/token'
import type { TokenVerifier } from '../../src/broker/token'
import { startLocalIssuer } from '../../src/local/issuer'
import type { LocalIssuer, MintOptions } from '../../src/local/issuer'

const AUD = 'https://sts.tanuki.test'
const IAT = 1795000000
const now = new Date((IAT + 10) * 1000)
let issuer: LocalIssuer
let verify: TokenVerifier

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const mint = (claims: Record<string, unknown> = {}, opts: MintOptions = {}) => issuer.mint(claims, { iat: IAT, ...opts })

async function codeOf (token: string | Promise<string>, at = now, verifier = verify): Promise<string> {
  try { await verifier(await token, at); return 'ok' }
  catch (err) { return err instanceof BrokerError ? `${err.status} ${err.code}` : `threw ${String(err)}` }
}

test('Set up env', async t => {
  issuer = await startLocalIssuer({ audience: AUD })
  verify = createTokenVerifier({ issuers: [issuer.url], audience: AUD, allowHttpIssuers: true })
  t.ok(issuer.url, 'local issuer running')
})

test('token: a GitLab ID token from a trusted issuer verifies', async t => {
  const token = await mint()
  const { claims, sha256 } = await verify(token, now)
  t.equal(claims.project_path, 'acme/payments/api', 'claims are returned')
  t.equal(sha256, sha256Hex(token), 'with the token\'s SHA-256')
  t.equal(await codeOf(mint({}, { audience: ['https://other.example', AUD] })), 'ok', 'an audience array containing ours is accepted')
})

test('token: each broken property is one 401', async t => {
  const cases: Array<[string, Promise<string> | string, Date?]> = [
    ['expired beyond the leeway', mint(), new Date((IAT + 300 + 31) * 1000)],
    ['not yet valid (nbf beyond the leeway)', mint(), new Date((IAT - 60) * 1000)],
    ['iat in the future', mint({}, { iat: IAT + 3600, expiresIn: 7200 })],
    ['wrong audience', mint({}, { audience: 'https://someone-else.example' })],
    ['audience array without ours', mint({}, { audience: ['https://a.example', 'https://b.example'] })],
    ['untrusted issuer', mint({ iss: 'https://gitlab.evil.example' })],
    ['trusted issuer with a trailing slash', mint({ iss: `${issuer.url}/` })],
    ['alg none', mint({}, { header: { alg: 'none' } })],
    ['HS256 with the public key as secret', mint({}, { header: { alg: 'HS256' } })],
    ['RS512 instead of RS256', mint({}, { header: { alg: 'RS512' } })],
    ['unknown kid', mint({}, { kid: 'not-a-key' })],
    ['missing jti', mint({}, { omit: ['jti'] })],
    ['missing exp', mint({}, { omit: ['exp'] })],
    ['project_id as a number', mint({ project_id: 4301877 })],
    ['ref_protected as a boolean', mint({ ref_protected: true })],
    ['project_path with ..', mint({ project_path: 'acme/payments/..', namespace_path: 'acme/payments' })],
    ['project_path with a Cyrillic look-alike', mint({ project_path: 'acme/payments/\u0430pi' })],
    ['project_path outside its namespace_path', mint({ project_path: 'evil/api' })],
    ['not a JWT', 'hello'],
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJ9'],
    ['a header that is a JSON array', `${b64(['RS256'])}.${b64({ iss: 'x' })}.c2ln`],
    ['a payload that is a JSON string', `${b64({ alg: 'RS256' })}.${b64('claims')}.c2ln`],
    ['a payload that is not JSON', `${b64({ alg: 'RS256' })}.${Buffer.from('{iss:').toString('base64url')}.c2ln`],
  ]
  for (const [name, token, at] of cases) t.equal(await codeOf(token, at), '401 invalid_token', name)
})

test('token: a refused claim is named in words, with what to change', async t => {
  const messageOf = async (token: Promise<string>) => {
    try { await verify(await token, now); return 'ok' }
    catch (err) { return err instanceof Error ? err.message : String(err) }
  }
  t.equal(await messageOf(mint({}, { audience: 'https://someone-else.example' })),
    `The ID token has the audience "https://someone-else.example"; this broker accepts only "${AUD}". ` +
    `Set it as the token's aud in the job's id_tokens: (e.g. BROKER_ID_TOKEN: { aud: ${AUD} }).`, 'a wrong aud: which it has, which is needed, where to set it')
  t.equal(await messageOf(mint({}, { omit: ['exp'] })), 'The ID token\'s "exp" claim is missing.', 'a missing claim: named, no library code')
  t.equal(await messageOf(mint({}, { omit: ['jti', 'job_id', 'ref_type'] })),
    'The token lacks the claims "jti", "ref_type", "job_id"; this is not a GitLab CI ID token the broker accepts.', 'every missing GitLab claim at once')
})

test('token: a tampered payload with the original signature is refused', async t => {
  const [h, , s] = (await mint()).split('.')
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from((await mint()).split('.')[1], 'base64url').toString()), project_path: 'acme/payments/admin' })).toString('base64url')
  t.equal(await codeOf(`${h}.${forged}.${s}`), '401 invalid_token', 'signature does not verify')
})

test('token: an oversized token is 413 before any parsing', async t => {
  t.equal(await codeOf('a'.repeat(9000)), '413 payload_too_large', 'too large')
})

test('token: an untrusted issuer costs no network fetch', async t => {
  const before = { ...verify.stats }
  await codeOf(mint({ iss: 'http://127.0.0.1:1' }))
  t.deepEqual(verify.stats, before, 'no discovery or JWKS fetch for an issuer not in the allowlist')
})

test('token: a warm verifier fetches discovery and keys once', async t => {
  const fresh = createTokenVerifier({ issuers: [issuer.url], audience: AUD, allowHttpIssuers: true })
  for (let i = 0; i < 5; i++) await fresh(await mint(), now)
  t.deepEqual(fresh.stats, { discovery: 1, jwks: 1 }, 'one discovery, one JWKS fetch for five tokens')
})

test('token: an unreachable issuer is 503, not 401', async t => {
  const cold = createTokenVerifier({ issuers: [issuer.url], audience: AUD, allowHttpIssuers: true })
  issuer.setMode('down')
  try { t.equal(await codeOf(mint(), now, cold), '503 unavailable', 'issuer down: unavailable') }
  finally { issuer.setMode('normal') }
})

test('token: a flood while the issuer is down costs one discovery per cooldown', async t => {
  const cold = createTokenVerifier({ issuers: [issuer.url], audience: AUD, allowHttpIssuers: true })
  issuer.setMode('down')
  try {
    const token = await mint()
    const codes = await Promise.all(Array.from({ length: 20 }, () => codeOf(token, now, cold)))
    t.ok(codes.every(c => c === '503 unavailable'), 'twenty concurrent requests: all 503')
    t.equal(cold.stats.discovery, 1, 'one discovery fetch for all of them')
    issuer.setMode('normal')
    t.equal(await codeOf(token, now, cold), '503 unavailable', 'within the 30 s cooldown the failure is remembered')
    t.equal(cold.stats.discovery, 1, 'and the issuer is not asked again')
  }
  finally { issuer.setMode('normal') }
})

/** A token signed here with node:crypto, for shapes the local issuer (jose's SignJWT) will not produce. */
function signed (key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`
}

/** A local issuer serving a key of `bits` bits, kept in a JWK file so the test can sign with it too. */
async function issuerWithKey (bits: number): Promise<{ issuer: LocalIssuer; key: KeyObject; done: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-token-test-'))
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits })
  writeFileSync(join(dir, 'key.json'), JSON.stringify({ ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' }))
  const other = await startLocalIssuer({ audience: AUD, keyFile: join(dir, 'key.json') })
  return { issuer: other, key: privateKey, done: async () => { await other.close(); rmSync(dir, { recursive: true, force: true }) } }
}

test('token: refused are keys under 2048 bits and JWS extensions (stricter than jwtVerify), and non-numeric times', async t => {
  const claims = JSON.parse(Buffer.from((await mint()).split('.')[1], 'base64url').toString()) as Record<string, unknown>
  // An issuer whose only key is under 2048 bits serves no key the broker will use: its tokens are never accepted, and
  // since no caller can fix that, the answer is the issuer's failure (503), as for any key set the broker refuses.
  for (const [bits, want] of [[2048, 'ok'], [1024, '503 unavailable']] as const) {
    const { issuer: other, key, done } = await issuerWithKey(bits)
    try {
      const verifier = createTokenVerifier({ issuers: [other.url], audience: AUD, allowHttpIssuers: true })
      const token = (header: Record<string, unknown>, payload: Record<string, unknown> = {}) =>
        signed(key, { alg: 'RS256', typ: 'JWT', kid: other.publicJwk.kid, ...header }, { ...claims, iss: other.url, ...payload })
      t.equal(await codeOf(token({}), now, verifier), want, `a ${bits}-bit key: ${want}`)
      if (bits !== 2048) continue
      t.equal(await codeOf(token({ crit: ['exp'], exp: IAT }), now, verifier), '401 invalid_token', 'a crit header parameter')
      t.equal(await codeOf(token({ b64: true }), now, verifier), '401 invalid_token', 'a b64 header parameter')
      t.equal(await codeOf(token({}, { nbf: String(IAT) }), now, verifier), '401 invalid_token', 'nbf as a string')
      t.equal(await codeOf(token({}, { iat: String(IAT) }), now, verifier), '401 invalid_token', 'iat as a string')
      t.equal(await codeOf(token({}, { exp: String(IAT + 300) }), now, verifier), '401 invalid_token', 'exp as a string')
      t.equal(await codeOf(token({}, { aud: [] }), now, verifier), '401 invalid_token', 'an empty audience array')
      // Validly signed (an issuer's bug, or a test issuer): a 401 naming the claim, not a 503 from the audit write.
      t.equal(await codeOf(token({}, { exp: 1e20 }), now, verifier), '401 invalid_token', 'exp of 1e20 (not a whole number of seconds in a double)')
      t.equal(await codeOf(token({}, { exp: 2 ** 53 + 2 }), now, verifier), '401 invalid_token', 'exp past 2^53')
      t.equal(await codeOf(token({}, { exp: 253402300800 }), now, verifier), '401 invalid_token', 'exp past the year 9999')
      t.equal(await codeOf(token({}, { exp: IAT + 300.5 }), now, verifier), '401 invalid_token', 'exp with a fraction')
      t.equal(await codeOf(token({}, { iat: -1e308 }), now, verifier), '401 invalid_token', 'iat far before 1970')
      t.equal(await codeOf(token({}, { nbf: -1 }), now, verifier), '401 invalid_token', 'nbf before 1970')
      t.equal(await codeOf(token({}, { exp: 253402300799 }), now, verifier), 'ok', 'exp at the last second of 9999 is still whole: accepted')
      t.equal(await codeOf(`${token({}).slice(0, -8)}AAAAAAAA`, now, verifier), '401 invalid_token', 'a damaged signature')
    }
    finally { await done() }
  }
})

test('Teardown', async t => {
  await issuer.close()
  t.pass('issuer stopped')
})
