// Spec for src/local/issuer.ts: the documents a GitLab serves, tokens jose verifies against them, and each failure mode.
// What the broker makes of a failing issuer is for the broker's own tests; here only what the issuer does.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import test from 'tape'
import { calculateJwkThumbprint, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose'
import { DEFAULT_CLAIMS } from '../../src/local/default-claims'
import { mintWithKeyFile, startLocalIssuer, type LocalIssuer } from '../../src/local/issuer'

const AUDIENCE = 'https://sts.tanuki.test'
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'gitlab-id-token-claims.json'), 'utf8'))
const COMPUTED = ['iss', 'aud', 'jti', 'iat', 'nbf', 'exp', 'sub', 'ref_path']
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tanuki-issuer-'))
const keyFile = path.join(tmp, 'issuer', 'key.json')

let issuer: LocalIssuer

interface Discovery { issuer: string; jwks_uri: string; id_token_signing_alg_values_supported: string[] }

async function getJson<T> (url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T
}

async function verify (token: string, audience = AUDIENCE) {
  const discovery = await getJson<Discovery>(`${issuer.url}/.well-known/openid-configuration`)
  const keys = createRemoteJWKSet(new URL(discovery.jwks_uri))
  return jwtVerify(token, keys, { issuer: issuer.url, audience, algorithms: ['RS256'] })
}

test('Set up env', async t => {
  issuer = await startLocalIssuer({ audience: AUDIENCE, keyFile })
  t.plan(3)
  t.match(issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'the issuer URL is loopback with no trailing slash')
  t.ok(fs.existsSync(keyFile), 'the key file is created')
  t.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'only its owner may read the key file')
})

test('the default claims are the fixture', t => {
  t.plan(1)
  t.deepEqual({ ...DEFAULT_CLAIMS }, fixture, 'src/local/default-claims.ts matches test/fixtures')
})

test('discovery and keys are served like GitLab’s', async t => {
  issuer.setMode('normal')
  const before = { ...issuer.stats }
  const discovery = await getJson<Discovery>(`${issuer.url}/.well-known/openid-configuration`)
  const keys = await fetch(discovery.jwks_uri)
  const jwks = (await keys.json()) as { keys: JWK[] }
  const [jwk] = jwks.keys
  t.plan(8)
  t.equal(discovery.issuer, issuer.url, 'the issuer is the URL')
  t.equal(discovery.jwks_uri, `${issuer.url}/oauth/discovery/keys`, 'the keys are at GitLab’s path')
  t.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256'], 'RS256 is the one algorithm')
  t.match(keys.headers.get('content-type') ?? '', /^application\/json/, 'the keys are JSON')
  t.deepEqual([jwk.kty, jwk.use, jwk.alg], ['RSA', 'sig', 'RS256'], 'the key is an RS256 signing key')
  t.equal(jwk.kid, await calculateJwkThumbprint(jwk, 'sha256'), 'the kid is the key thumbprint')
  t.notOk('d' in jwk || 'p' in jwk, 'no private part is published')
  t.deepEqual([issuer.stats.discovery - before.discovery, issuer.stats.jwks - before.jwks], [1, 1], 'each fetch is counted')
})

test('a minted token verifies with jose and carries the fixture claims', async t => {
  const token = await issuer.mint()
  const { payload, protectedHeader } = await verify(token)
  const second = decodeJwt(await issuer.mint())
  const kept = Object.keys(fixture).filter(k => !COMPUTED.includes(k))
  t.plan(8)
  t.deepEqual(protectedHeader, { alg: 'RS256', typ: 'JWT', kid: issuer.publicJwk.kid }, 'the header is RS256 with the key’s kid')
  t.deepEqual(kept.map(k => payload[k]), kept.map(k => fixture[k]), 'every other claim is the fixture’s')
  t.deepEqual([payload.iss, payload.aud], [issuer.url, AUDIENCE], 'iss is the issuer, aud its audience')
  t.equal(payload.sub, 'project_path:acme/payments/api:ref_type:branch:ref:main', 'sub is built from the project and ref')
  t.deepEqual([payload.nbf, payload.exp], [payload.iat! - 5, payload.iat! + 300], 'nbf is 5 s before iat, exp 300 s after')
  t.ok(Math.abs(payload.iat! - Date.now() / 1000) < 5, 'iat is now')
  t.match(String(payload.jti), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'jti is a UUID')
  t.notEqual(second.jti, payload.jti, 'every token has its own jti')
})

test('claims and options override the defaults', async t => {
  const claims = { ref: 'v1.2.0', ref_type: 'tag', ref_protected: 'false', groups_direct: ['acme'] }
  const token = await issuer.mint(claims, { audience: ['https://a.test', 'https://b.test'], expiresIn: 60, iat: 1_700_000_000, omit: ['environment'] })
  const payload = decodeJwt(token)
  const rs512 = await issuer.mint({}, { kid: null, header: { alg: 'RS512' } })
  const hs256 = decodeProtectedHeader(await issuer.mint({}, { header: { alg: 'HS256' } }))
  const none = decodeProtectedHeader(await issuer.mint({}, { header: { alg: 'none' } }))
  const foreign = decodeJwt(await issuer.mint({ iss: 'https://gitlab.com', sub: 'someone-else' }))
  t.plan(10)
  t.deepEqual([payload.ref, payload.ref_protected, payload.groups_direct], ['v1.2.0', 'false', ['acme']], 'given claims replace or add to the defaults')
  t.equal(payload.sub, 'project_path:acme/payments/api:ref_type:tag:ref:v1.2.0', 'sub follows the overridden ref')
  t.equal(payload.ref_path, 'refs/tags/v1.2.0', 'ref_path follows the overridden ref')
  t.deepEqual(payload.aud, ['https://a.test', 'https://b.test'], 'the audience option wins')
  t.deepEqual([payload.iat, payload.exp], [1_700_000_000, 1_700_000_060], 'iat and expiresIn set the times')
  t.notOk('environment' in payload, 'omitted claims are gone')
  t.deepEqual(decodeProtectedHeader(rs512), { alg: 'RS512', typ: 'JWT' }, 'kid null drops the kid, and header overrides apply')
  const samePublicKey = await importJWK({ ...issuer.publicJwk, alg: 'RS512' }, 'RS512')
  t.equal((await jwtVerify(rs512, samePublicKey, { audience: AUDIENCE })).protectedHeader.alg, 'RS512', 'another RSA alg is signed with the same key')
  t.deepEqual([hs256.alg, none.alg], ['HS256', 'none'], 'HS256 and none tokens can be made for attack tests')
  t.deepEqual([foreign.iss, foreign.sub], ['https://gitlab.com', 'someone-else'], 'iss and sub may be overridden too')
})

test('failure modes behave like a broken GitLab', async t => {
  const discoveryUrl = `${issuer.url}/.well-known/openid-configuration`
  const keysUrl = `${issuer.url}/oauth/discovery/keys`
  issuer.setMode('redirect')
  const redirect = await fetch(discoveryUrl, { redirect: 'manual' })
  issuer.setMode('huge-discovery')
  const huge = await fetch(discoveryUrl)
  const hugeText = await huge.text()
  issuer.setMode('foreign-jwks')
  const foreign = await getJson<Discovery>(discoveryUrl)
  const foreignKeys = await fetch(foreign.jwks_uri)
  issuer.setMode('down')
  const down = [await fetch(discoveryUrl), await fetch(keysUrl)].map(r => r.status)
  issuer.setMode('jwks-down')
  const jwksDown = [await fetch(discoveryUrl), await fetch(keysUrl)].map(r => r.status)
  issuer.setMode('slow')
  const slow = await fetch(discoveryUrl, { signal: AbortSignal.timeout(300) }).then(r => r.status, (e: Error) => e.name)
  issuer.setMode('normal')
  t.plan(9)
  t.equal(redirect.status, 302, 'redirect answers 302')
  t.equal(redirect.headers.get('location'), `${issuer.elsewhereUrl}/.well-known/openid-configuration`, 'it points at another origin')
  t.ok(hugeText.length > 1024 * 1024, 'the huge discovery document is over 1 MiB')
  t.equal(JSON.parse(hugeText).issuer, issuer.url, 'and is still valid JSON')
  t.notEqual(new URL(foreign.jwks_uri).origin, new URL(issuer.url).origin, 'foreign-jwks points the keys at another origin')
  t.equal(foreignKeys.status, 200, 'which serves the keys')
  t.deepEqual(down, [503, 503], 'down answers 503 for discovery and keys')
  t.deepEqual(jwksDown, [200, 503], 'jwks-down answers discovery but not the keys')
  t.equal(slow, 'TimeoutError', 'slow never answers')
})

test('rotation keeps the old public key and the key file follows', async t => {
  const oldKid = issuer.publicJwk.kid
  const oldToken = await issuer.mint()
  await issuer.rotateKey()
  const jwks = await getJson<{ keys: JWK[] }>(`${issuer.url}/oauth/discovery/keys`)
  const fromFile = await mintWithKeyFile(keyFile, `${issuer.url}/`, { ref: 'main' }, { audience: AUDIENCE })
  t.plan(5)
  t.notEqual(issuer.publicJwk.kid, oldKid, 'the new key has a new kid')
  t.deepEqual(jwks.keys.map(k => k.kid), [issuer.publicJwk.kid, oldKid], 'the JWKS lists the new key, then the old')
  t.ok(await verify(oldToken), 'a token from before the rotation still verifies')
  t.equal(decodeProtectedHeader(fromFile).kid, issuer.publicJwk.kid, 'mintWithKeyFile signs with the current key')
  t.equal((await verify(fromFile)).payload.iss, issuer.url, 'its token verifies, with the trailing slash dropped from iss')
})

test('mintWithKeyFile without a key file says what to do', async t => {
  t.plan(1)
  try {
    await mintWithKeyFile(path.join(tmp, 'missing.json'), issuer.url)
    t.fail('a token was minted without a key')
  }
  catch (err) {
    t.match((err as Error).message, /no issuer key at .*missing\.json/, 'the error names the missing file')
  }
})

test('POST /-/mint returns a token for scripts', async t => {
  const minted = await fetch(`${issuer.url}/-/mint`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ref: 'develop', audience: 'https://other.test', expiresIn: 120 }),
  })
  const { token } = (await minted.json()) as { token: string }
  const { payload } = await verify(token, 'https://other.test')
  const bad = await fetch(`${issuer.url}/-/mint`, { method: 'POST', body: '[1,2' })
  t.plan(4)
  t.equal(minted.status, 200, 'a JSON body of claims is answered 200')
  t.equal(payload.ref, 'develop', 'its claims apply')
  t.equal(payload.exp! - payload.iat!, 120, 'expiresIn applies')
  t.equal(bad.status, 400, 'a body that is not JSON gets 400')
})

test('GitLab\'s OAuth sign-in: an authorize page, single-use PKCE codes, ID tokens and userinfo, refusing what GitLab refuses', async t => {
  const redirectUri = 'http://localhost:9/console/oauth/callback'
  const client = { clientId: 'app', clientSecret: 's3cret', redirectUris: [redirectUri] }
  const gitlab = await startLocalIssuer({ oauthClients: [client] })
  const verifier = 'v'.repeat(43)
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const params = { client_id: 'app', redirect_uri: redirectUri, response_type: 'code', scope: 'openid profile', state: 'st', nonce: 'no',
    code_challenge: challenge, code_challenge_method: 'S256' }
  const authorize = (p: Record<string, string>) => fetch(`${gitlab.url}/oauth/authorize?${new URLSearchParams(p)}`)
  const pick = async (login: string) => new URL((await fetch(`${gitlab.url}/oauth/authorize`,
    { method: 'POST', redirect: 'manual', body: new URLSearchParams({ ...params, login }) })).headers.get('location') ?? '')
  const redeem = (code: string, extra: Record<string, string> = {}) => fetch(`${gitlab.url}/oauth/token`, { method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'app', client_secret: 's3cret',
      code_verifier: verifier, ...extra }) })
  try {
    const page = await authorize(params)
    t.equal(page.status, 200, 'the authorize page')
    t.match(await page.text(), /Sign in as local-admin/, 'offers the local users')
    t.equal((await authorize({ ...params, redirect_uri: 'https://evil.example/cb' })).status, 400, 'an unregistered redirect URI: an error page, no redirect')
    t.equal((await authorize({ ...params, code_challenge_method: 'plain' })).status, 400, 'PKCE with S256 is required')
    const back = await pick('local-admin')
    t.equal(`${back.origin}${back.pathname}`, redirectUri, 'back to the redirect URI')
    t.equal(back.searchParams.get('state'), 'st', 'with the state')
    const code = back.searchParams.get('code') ?? ''
    t.equal((await redeem(code, { code_verifier: 'w'.repeat(43) })).status, 400, 'the wrong PKCE verifier: invalid_grant (and the code is spent)')
    const fresh = (await pick('local-admin')).searchParams.get('code') ?? ''
    t.equal((await redeem(fresh, { client_secret: 'wrong' })).status, 401, 'a wrong client secret: invalid_client')
    const ok = await redeem(fresh)
    const tokens = await ok.json() as { access_token: string; id_token: string }
    t.equal(ok.status, 200, 'the code, once: tokens')
    const { payload } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(`${gitlab.url}/oauth/discovery/keys`)),
      { issuer: gitlab.url, audience: 'app' })
    t.deepEqual([payload.sub, payload.nonce, payload.preferred_username, payload.groups_direct], ['1001', 'no', 'local-admin', ['tanuki-sts/admins']],
      'an ID token for the app, with the nonce, username and groups_direct')
    t.equal((await redeem(fresh)).status, 400, 'the same code again: invalid_grant')
    const info = await (await fetch(`${gitlab.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json() as Record<string,
      unknown>
    t.deepEqual([info.sub, info.groups], ['1001', ['tanuki-sts/admins']], 'userinfo: the same sub, and groups')
    t.equal((await fetch(`${gitlab.url}/oauth/userinfo`, { headers: { authorization: 'Bearer nope' } })).status, 401,
      'userinfo without a valid access token: 401')
    t.equal((await pick('')).searchParams.get('error'), 'access_denied', 'cancelling: error=access_denied')
  }
  finally { await gitlab.close() }
})

test('Teardown', async t => {
  await issuer.close()
  fs.rmSync(tmp, { recursive: true, force: true })
  t.plan(1)
  t.pass('the issuer is closed')
})
