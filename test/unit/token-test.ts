// Token checks in-process, clock fixed: each case starts from the fixture's claim set, changes one thing, expects one code.
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
  ]
  for (const [name, token, at] of cases) t.equal(await codeOf(token, at), '401 invalid_token', name)
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

test('Teardown', async t => {
  await issuer.close()
  t.pass('issuer stopped')
})
