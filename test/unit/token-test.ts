// Token checks in-process, clock fixed: each case starts from the fixture's claim set, changes one thing, and expects one code
// and the message that names the rule that refused it (a case that another rule refuses first would test nothing).
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

/** How the verifier answered: 'ok', or the status and code of its refusal and the message that names the rule. */
async function refusal (token: string | Promise<string>, at = now, verifier = verify): Promise<{ code: string; message: string }> {
  try { await verifier(await token, at); return { code: 'ok', message: '' } }
  catch (err) { return err instanceof BrokerError ? { code: `${err.status} ${err.code}`, message: err.message } : { code: `threw ${String(err)}`, message: '' } }
}

async function codeOf (token: string | Promise<string>, at = now, verifier = verify): Promise<string> {
  return (await refusal(token, at, verifier)).code
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

test('token: each broken property is one 401, refused by the rule its message names', async t => {
  const notGitLab = 'this is not a GitLab CI ID token the broker accepts\\.$'
  const cases: Array<[string, Promise<string> | string, RegExp, Date?]> = [
    ['expired beyond the leeway', mint(), /^The ID token has expired; request a fresh one/, new Date((IAT + 300 + 31) * 1000)],
    ['not yet valid (nbf beyond the leeway)', mint(), /^The ID token's "nbf" claim does not have the value this broker requires\.$/, new Date((IAT - 60) * 1000)],
    // nbf in the past, so that only iat is wrong (the issuer sets nbf 5 s before iat, which would refuse it first).
    ['iat in the future', mint({ nbf: IAT }, { iat: IAT + 3600, expiresIn: 7200 }), /^The ID token's "iat" is in the future; check the issuer's clock\.$/],
    ['wrong audience', mint({}, { audience: 'https://someone-else.example' }), /^The ID token has the audience "https:\/\/someone-else\.example"; this broker accepts only /],
    ['audience array without ours', mint({}, { audience: ['https://a.example', 'https://b.example'] }), /^The ID token has the audience \["https:\/\/a\.example","https:\/\/b\.example"\]/],
    ['untrusted issuer', mint({ iss: 'https://gitlab.evil.example' }), /^The ID token's issuer "https:\/\/gitlab\.evil\.example" is not trusted by this broker \(BROKER_ISSUERS\)\.$/],
    ['trusted issuer with a trailing slash', mint({ iss: `${issuer.url}/` }), /^The ID token's issuer "http:\/\/[^"]+\/" is not trusted by this broker/],
    // An unsigned token has an empty third part: the compact-JWS shape refuses it before its alg is read.
    ['alg none', mint({}, { header: { alg: 'none' } }), /^The ID token is not a signed JWT \(expected three base64url parts\)\.$/],
    ['HS256 with the public key as secret', mint({}, { header: { alg: 'HS256' } }), /^The ID token is signed with "HS256"; only RS256 is accepted\.$/],
    ['RS512 instead of RS256', mint({}, { header: { alg: 'RS512' } }), /^The ID token is signed with "RS512"; only RS256 is accepted\.$/],
    ['unknown kid', mint({}, { kid: 'not-a-key' }), /^The ID token's key \(kid\) is not one of its issuer's keys\.$/],
    ['missing jti', mint({}, { omit: ['jti'] }), new RegExp(`^The token lacks the claim "jti"; ${notGitLab}`)],
    ['missing exp', mint({}, { omit: ['exp'] }), /^The ID token's "exp" claim is missing\.$/],
    ['project_id as a number', mint({ project_id: 4301877 }), new RegExp(`^The token's "project_id" claim must be a string, not number; ${notGitLab}`)],
    ['ref_protected as a boolean', mint({ ref_protected: true }), new RegExp(`^The token's "ref_protected" claim must be a string, not boolean; ${notGitLab}`)],
    ['project_path with ..', mint({ project_path: 'acme/payments/..', namespace_path: 'acme/payments' }), new RegExp(`^The token's "project_path" claim is not a GitLab project path; ${notGitLab}`)],
    ['project_path with a Cyrillic look-alike', mint({ project_path: 'acme/payments/\u0430pi' }), new RegExp(`^The token's "project_path" claim is not a GitLab project path; ${notGitLab}`)],
    ['project_path outside its namespace_path', mint({ project_path: 'evil/api' }),
      new RegExp(`^The token's "project_path" claim is not directly inside the token's namespace_path; ${notGitLab}`)],
    ['not a JWT', 'hello', /^The ID token is not a signed JWT \(expected three base64url parts\)\.$/],
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJ9', /^The ID token is not a signed JWT \(expected three base64url parts\)\.$/],
    ['a header that is a JSON array', `${b64(['RS256'])}.${b64({ iss: 'x' })}.c2ln`, /^The ID token could not be decoded\.$/],
    ['a payload that is a JSON string', `${b64({ alg: 'RS256' })}.${b64('claims')}.c2ln`, /^The ID token could not be decoded\.$/],
    ['a payload that is not JSON', `${b64({ alg: 'RS256' })}.${Buffer.from('{iss:').toString('base64url')}.c2ln`, /^The ID token could not be decoded\.$/],
  ]
  for (const [name, token, rule, at] of cases) {
    const r = await refusal(token, at)
    t.equal(r.code, '401 invalid_token', `${name}: 401 invalid_token`)
    t.match(r.message, rule, `${name}: refused by its rule`)
  }
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
  const r = await refusal(`${h}.${forged}.${s}`)
  t.equal(r.code, '401 invalid_token', '401 invalid_token')
  t.equal(r.message, 'The ID token\'s signature does not verify.', 'refused by the signature check')
})

test('token: an oversized token is 413 before any parsing', async t => {
  t.deepEqual(await refusal('a'.repeat(9000)), { code: '413 payload_too_large', message: 'The ID token is larger than 8192 bytes.' }, 'too large, by the size rule')
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
  const wholeSeconds = (claim: string) => new RegExp(`^The token's "${claim}" claim must be whole seconds since 1970, no later than the year 9999; `)
  const extensions = /^The ID token uses JWS extensions \(crit, b64\) the broker does not accept\.$/
  const malformed = (claim: string) => new RegExp(`^The ID token's "${claim}" claim is malformed\\.$`)
  // An issuer whose only key is under 2048 bits serves no key the broker will use: its tokens are never accepted, and
  // since no caller can fix that, the answer is the issuer's failure (503), as for any key set the broker refuses.
  for (const bits of [2048, 1024]) {
    const { issuer: other, key, done } = await issuerWithKey(bits)
    try {
      const verifier = createTokenVerifier({ issuers: [other.url], audience: AUD, allowHttpIssuers: true })
      const token = (header: Record<string, unknown>, payload: Record<string, unknown> = {}) =>
        signed(key, { alg: 'RS256', typ: 'JWT', kid: other.publicJwk.kid, ...header }, { ...claims, iss: other.url, ...payload })
      if (bits !== 2048) {
        const r = await refusal(token({}), now, verifier)
        t.equal(r.code, '503 unavailable', `a ${bits}-bit key: 503 unavailable`)
        t.match(r.message, /^The token issuer's keys could not be fetched from http:\/\/127\.0\.0\.1:\d+; try again shortly\.$/, `a ${bits}-bit key: the key set is refused, so the issuer serves no usable key`)
        continue
      }
      t.equal(await codeOf(token({}), now, verifier), 'ok', `a ${bits}-bit key: ok`)
      const refused: Array<[string, string, RegExp]> = [
        ['a crit header parameter', token({ crit: ['exp'], exp: IAT }), extensions],
        ['a b64 header parameter', token({ b64: true }), extensions],
        ['nbf as a string', token({}, { nbf: String(IAT) }), malformed('nbf')],
        ['iat as a string', token({}, { iat: String(IAT) }), malformed('iat')],
        ['exp as a string', token({}, { exp: String(IAT + 300) }), malformed('exp')],
        ['an empty audience array', token({}, { aud: [] }), /^The ID token has the audience \[\]; this broker accepts only /],
        // Validly signed (an issuer's bug, or a test issuer): a 401 naming the claim, not a 503 from the audit write.
        ['exp of 1e20 (not a whole number of seconds in a double)', token({}, { exp: 1e20 }), wholeSeconds('exp')],
        ['exp past 2^53', token({}, { exp: 2 ** 53 + 2 }), wholeSeconds('exp')],
        ['exp past the year 9999', token({}, { exp: 253402300800 }), wholeSeconds('exp')],
        ['exp with a fraction', token({}, { exp: IAT + 300.5 }), wholeSeconds('exp')],
        ['iat far before 1970', token({}, { iat: -1e308 }), wholeSeconds('iat')],
        ['nbf before 1970', token({}, { nbf: -1 }), wholeSeconds('nbf')],
        ['a damaged signature', `${token({}).slice(0, -8)}AAAAAAAA`, /^The ID token's signature does not verify\.$/],
      ]
      for (const [name, jwt, rule] of refused) {
        const r = await refusal(jwt, now, verifier)
        t.equal(r.code, '401 invalid_token', `${name}: 401 invalid_token`)
        t.match(r.message, rule, `${name}: refused by its rule`)
      }
      t.equal(await codeOf(token({}, { exp: 253402300799 }), now, verifier), 'ok', 'exp at the last second of 9999 is still whole: accepted')
    }
    finally { await done() }
  }
})

test('Teardown', async t => {
  await issuer.close()
  t.pass('issuer stopped')
})
