// Property-based attacks on the pure parts: the request parser, the token pre-checks, the claim checks, the mapping
// parser and matcher, and the glob engine. Runs: FC_RUNS (small in `npm test`, 10000 in `npm run fuzz`).
import fc from 'fast-check'
import test from 'tape'
import { parseGitLabClaims, isGitLabPath, KNOWN_CLAIMS } from '../../src/broker/claims'
import { InvalidRequest, InvalidToken, MappingInvalid, PayloadTooLarge } from '../../src/broker/errors'
import { globMatcher, patternMatcher } from '../../src/broker/glob'
import { parseMapping } from '../../src/broker/mapping'
import type { Mapping } from '../../src/broker/mapping'
import { decide, evaluateMapping, matchMapping } from '../../src/broker/match'
import { ROLE_NAME } from '../../src/broker/role'
import { candidateScopes } from '../../src/broker/scope'
import { parseCredentialsRequest, responseFormat } from '../../src/broker/request'
import type { HttpEvent } from '../../src/broker/request'
import { MAX_TOKEN_BYTES, createTokenVerifier } from '../../src/broker/token'
import { compileGlob } from '../helpers/glob-oracle'

const runs = Number(process.env.FC_RUNS ?? 200)
const now = new Date('2026-11-26T12:00:00Z')
const b64 = (text: string) => Buffer.from(text).toString('base64url')

// ---- the request parser --------------------------------------------------------------------------------------------

const paramValue = fc.oneof(fc.string(), fc.constantFrom('deploy', '900', '3600', '-1', '1e3', 'shell', 'json', 'xml', '', ' deploy', 'deploy\n'))
const paramName = fc.oneof(fc.constantFrom('role', 'duration', 'format', 'Role', 'role[]', '__proto__', 'constructor'), fc.string({ maxLength: 8 }))
const query = fc.array(fc.tuple(paramName, paramValue), { maxLength: 5 }).map(pairs => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'))
const jwtish = fc.oneof(
  fc.string(),
  fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map(parts => parts.join('.').replace(/=/g, '')),
  fc.constant('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'),
)
const authorization = fc.oneof(
  fc.constant(undefined),
  jwtish.map(t => `Bearer ${t}`),
  jwtish,
  fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'Bearer\t', 'Bearer  '), jwtish).map(([s, t]) => `${s} ${t}`),
  fc.array(jwtish.map(t => `Bearer ${t}`), { minLength: 2, maxLength: 3 }).map(a => a.join(', ')),
  fc.string({ maxLength: MAX_TOKEN_BYTES + 64, minLength: MAX_TOKEN_BYTES - 8 }),
)
const body = fc.oneof(fc.constant(undefined), fc.string(), fc.json(), fc.dictionary(paramName, fc.oneof(paramValue, fc.integer(), fc.double(), fc.boolean(), fc.constant(null))).map(o => JSON.stringify(o)))
const contentType = fc.oneof(fc.constant(undefined), fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data'), fc.string())
const extraHeaders = fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string(), fc.constant(undefined)), { maxKeys: 4 })
const httpEvent: fc.Arbitrary<HttpEvent> = fc.record({ query, authorization, body, contentType, extra: extraHeaders, b64: fc.boolean(), queryAsObject: fc.boolean() })
  .map(({ query, authorization, body, contentType, extra, b64: base64, queryAsObject }) => ({
    ...(queryAsObject ? { queryStringParameters: Object.fromEntries(new URLSearchParams(query)) } : { rawQueryString: query }),
    headers: { ...extra, authorization, 'content-type': contentType },
    ...(body !== undefined && { body: base64 ? Buffer.from(body).toString('base64') : body, isBase64Encoded: base64 }),
  }))

/** A well-formed request with one or two things changed: most generated events should get deep into the parser. */
const nearValid: fc.Arbitrary<HttpEvent> = fc.record({
  role: fc.oneof(fc.constant('deploy'), fc.constant('read-only'), paramValue),
  duration: fc.option(fc.oneof(fc.integer({ min: 800, max: 4000 }).map(String), paramValue)),
  format: fc.option(fc.constantFrom('json', 'shell', 'container', 'JSON')),
  scheme: fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', ''),
  token: fc.oneof(fc.constant('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), jwtish),
  inBody: fc.boolean(),
}).map(r => {
  const params = new URLSearchParams({ role: r.role, ...(r.duration !== null && { duration: r.duration }), ...(r.format !== null && { format: r.format }) })
  return r.inBody
    ? { rawQueryString: '', headers: { authorization: r.scheme + r.token, 'content-type': 'application/x-www-form-urlencoded' }, body: params.toString() }
    : { rawQueryString: params.toString(), headers: { authorization: r.scheme + r.token } }
})

test('fuzz: the request parser answers every event with a request or a contract error, never anything else', t => {
  let accepted = 0
  fc.assert(fc.property(fc.oneof(httpEvent, nearValid), fc.constantFrom<'GET' | 'POST'>('GET', 'POST'), (event, method) => {
    const format = responseFormat(event, method)
    if (!['json', 'shell', 'container'].includes(format)) return false
    try {
      const r = parseCredentialsRequest(event, method)
      accepted++
      // What it accepts is well-formed: the rest of the broker relies on that.
      return ROLE_NAME.test(r.role) && (r.duration === undefined || (Number.isInteger(r.duration) && r.duration >= 900 && r.duration <= 3600)) &&
        (method === 'GET' ? r.format === 'container' : r.format !== 'container') && /^\S+$/.test(r.token) && Buffer.byteLength(r.token) <= MAX_TOKEN_BYTES + 16
    }
    catch (err) {
      return err instanceof InvalidRequest || err instanceof InvalidToken || err instanceof PayloadTooLarge
    }
  }), { numRuns: runs * 2 })
  t.pass(`only contract errors were thrown (${accepted} generated requests were well-formed)`)
  t.end()
})

// ---- token pre-checks and claims -----------------------------------------------------------------------------------

test('fuzz: the token verifier refuses arbitrary text and unsigned JOSE shapes with a contract error, and fetches nothing', async t => {
  // A trusted issuer on a port nobody listens on: if a generated token ever got that far, it would show as a fetch.
  const verify = createTokenVerifier({ issuers: ['http://127.0.0.1:9'], audience: 'https://sts.tanuki.test', allowHttpIssuers: true })
  const header = fc.oneof(fc.json(), fc.record({ alg: fc.oneof(fc.constantFrom('RS256', 'none', 'HS256', 'rs256'), fc.string()), kid: fc.option(fc.string()), crit: fc.option(fc.array(fc.string())) }).map(h => JSON.stringify(h)))
  const payload = fc.oneof(fc.json(), fc.dictionary(fc.constantFrom('iss', 'aud', 'exp', 'iat', 'nbf', 'sub', 'jti', 'project_path'), fc.jsonValue()).map(p => JSON.stringify(p)))
  const token = fc.oneof(
    fc.string(),
    fc.tuple(header, payload, fc.base64String()).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s.replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_')}`),
    fc.tuple(header, payload).map(([h, p]) => `${b64(h)}.${b64(p)}.`),
  )
  await fc.assert(fc.asyncProperty(token, async jwt => {
    try { await verify(jwt, now); return false }
    catch (err) { return err instanceof InvalidToken || err instanceof PayloadTooLarge }
  }), { numRuns: runs * 2 })
  t.deepEqual(verify.stats, { discovery: 0, jwks: 0 }, 'no generated token reached the network')
})

test('fuzz: the claim checks take any payload: a GitLab claim set, or InvalidToken', t => {
  let accepted = 0
  const claim = fc.constantFrom(...KNOWN_CLAIMS, 'jti', 'exp', 'iat')
  const value = fc.oneof(fc.jsonValue(), fc.constantFrom('acme/payments/api', 'acme/payments', '4301877', 'true', 'false', 'main', 'acme/../api', '/acme/api', 'acme//api'))
  const base = { jti: 'j', sub: 's', ref: 'main', ref_type: 'branch', project_id: '1', namespace_id: '2', pipeline_id: '3', job_id: '4', ref_protected: 'true', project_path: 'acme/api', namespace_path: 'acme' }
  fc.assert(fc.property(fc.dictionary(claim, value), fc.boolean(), (changes, onBase) => {
    const payload: Record<string, unknown> = onBase ? { ...base, ...changes } : changes
    try {
      const claims = parseGitLabClaims(payload)
      accepted++
      return isGitLabPath(claims.project_path) && claims.project_path.startsWith(`${claims.namespace_path}/`) && ['true', 'false'].includes(claims.ref_protected)
    }
    catch (err) { return err instanceof InvalidToken }
  }), { numRuns: runs * 2 })
  t.pass(`every accepted payload (${accepted}) had a well-formed path and ref_protected; every other was InvalidToken`)
  t.end()
})

// ---- mappings and the matcher --------------------------------------------------------------------------------------

test('fuzz: parseMapping takes anything: a mapping, or MappingInvalid listing problems', t => {
  const near = fc.record({
    scope: fc.oneof(fc.string(), fc.constantFrom('https://gitlab.com/acme/api', 'https://gitlab.com/acme/*', 'https://gitlab.com/**')),
    role: fc.oneof(fc.string(), fc.constant('deploy')),
    roleArn: fc.oneof(fc.string(), fc.constant('arn:aws:iam::111122223333:role/deploy')),
    pin: fc.oneof(fc.constant('none'), fc.jsonValue(), fc.record({ project_id: fc.oneof(fc.string(), fc.integer()) })),
    conditions: fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom(...KNOWN_CLAIMS, 'reff'), fc.oneof(fc.string(), fc.array(fc.string()), fc.jsonValue()))),
    maxUses: fc.jsonValue(),
    sessionPolicy: fc.oneof(fc.string(), fc.jsonValue()),
  }, { requiredKeys: ['scope', 'role', 'roleArn'] })
  fc.assert(fc.property(fc.oneof(fc.anything(), near), raw => {
    try { return Object.isFrozen(parseMapping(raw)) }
    catch (err) { return err instanceof MappingInvalid && err.problems.length > 0 }
  }), { numRuns: runs * 2 })
  t.pass('no input made the parser throw anything else')
  t.end()
})

const issuers = ['https://gitlab.com', 'https://git.example.com/gitlab', 'https://git.example.com/gitlab2']
const seg = fc.constantFrom('acme', 'acme-corp', 'acm', 'Acme', 'payments', 'pay', 'api', 'api.v2', 'x', 'gitlab')
const projectPath = fc.array(seg, { minLength: 2, maxLength: 4 }).map(s => s.join('/'))
const groupPath = fc.array(seg, { minLength: 0, maxLength: 3 }).map(s => s.join('/'))

/** Whether a scope covers a project, said independently of scope.ts: the test's own reading of DESIGN §4. */
function covers (scope: { issuer: string; kind: 'project' | 'group' | 'subtree'; path: string }, iss: string, project: string): boolean {
  if (scope.issuer !== iss) return false
  if (scope.kind === 'project') return project === scope.path
  if (scope.kind === 'group') return project.includes('/') && project.slice(0, project.lastIndexOf('/')) === scope.path
  return scope.path === '' || project.startsWith(`${scope.path}/`)
}

const generatedScope = fc.record({ issuer: fc.constantFrom(...issuers), kind: fc.constantFrom<'project' | 'group' | 'subtree'>('project', 'group', 'subtree'), path: groupPath, project: projectPath })
  .filter(s => s.kind === 'subtree' || s.path !== '')
  .map(s => ({ ...s, path: s.kind === 'project' ? s.project : s.path }))
const scopeText = (s: { issuer: string; kind: string; path: string }) =>
  s.kind === 'project' ? `${s.issuer}/${s.path}` : s.kind === 'group' ? `${s.issuer}/${s.path}/*` : `${s.issuer}/${s.path ? `${s.path}/` : ''}**`
const generatedClaims = fc.record({ iss: fc.constantFrom(...issuers), project_path: projectPath, ref_protected: fc.constantFrom('true', 'false') })
  .map(c => ({ ...c, namespace_path: c.project_path.slice(0, c.project_path.lastIndexOf('/')), project_id: '1', namespace_id: '2', ref: 'main', iat: Math.floor(now.getTime() / 1000) }))

/** Claims for a project in, next to, or named like the scope: where a matcher bug would show. */
const claimsNear = (scope: { issuer: string; path: string }) => fc.tuple(generatedClaims, fc.constantFrom('', '/x', '/x/y', 'x/y', '-corp/x'), fc.constantFrom(...issuers))
  .map(([c, suffix, iss]) => {
    if (scope.path === '' || suffix === '') return c
    const project = `${scope.path}${suffix}`
    return { ...c, iss, project_path: project, namespace_path: project.slice(0, project.lastIndexOf('/')) }
  })

test('fuzz: a generated mapping never allows a project outside its scope', t => {
  let allowed = 0
  fc.assert(fc.property(generatedScope.chain(s => fc.tuple(fc.constant(s), fc.oneof(generatedClaims, claimsNear(s)))), ([scope, claims]) => {
    // The widest mapping for its scope: pin none and both ref_protected values, so the scope alone decides.
    const mapping = parseMapping({ scope: scopeText(scope), role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/deploy', pin: 'none', conditions: { ref_protected: ['true', 'false'] } })
    const verdict = matchMapping(mapping, claims, now)
    if (verdict.allow) allowed++
    return verdict.allow === covers(scope, claims.iss, claims.project_path)
  }), { numRuns: runs * 5 })
  t.pass(`the matcher agreed with an independent reading of the scope every time (${allowed} allowed)`)
  t.end()
})

test('fuzz: the deciding mapping always covers the project, and decide never throws on arbitrary claims', t => {
  const claimsAnything = fc.dictionary(fc.constantFrom(...KNOWN_CLAIMS, 'iat'), fc.anything())
  fc.assert(fc.property(fc.array(generatedScope, { minLength: 1, maxLength: 6 }), generatedClaims, claimsAnything, (scopes, claims, junk) => {
    const found = new Map<string, Mapping>(scopes.map(s => {
      const m = parseMapping({ scope: scopeText(s), role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/deploy', pin: 'none', conditions: { ref: ['main', 'release/*', '**'] } })
      return [m.scope, m]
    }))
    const candidates = candidateScopes(claims.iss, claims.project_path)
    const decision = decide(candidates, found, claims, now)
    const chosen = decision.mapping && scopes.find(s => scopeText(s) === decision.mapping?.scope)
    if (chosen && !covers(chosen, claims.iss, claims.project_path)) return false
    // The same mappings against arbitrary values for every claim: an answer, never an exception.
    for (const m of found.values()) { evaluateMapping(m, junk, now); matchMapping(m, { ...claims, ...junk }, now) }
    return decide(candidates, found, { ...claims, ...junk }, now).allow !== undefined
  }), { numRuns: runs * 2 })
  t.pass('every deciding mapping covered the project; arbitrary claim values were answered')
  t.end()
})

// ---- glob ----------------------------------------------------------------------------------------------------------

test('fuzz: the glob matcher agrees with the reference RegExp on small inputs', t => {
  const alphabet = (chars: string[]) => fc.string({ unit: fc.constantFrom(...chars), maxLength: 10 })
  fc.assert(fc.property(alphabet(['a', 'b', '/', '*', '.', '-']), alphabet(['a', 'b', '/', '.', '-']), (pattern, value) =>
    globMatcher(pattern)(value) === compileGlob(pattern).test(value)), { numRuns: runs * 20 })
  fc.assert(fc.property(fc.string(), fc.string(), (pattern, value) => typeof patternMatcher(pattern)(value) === 'boolean'), { numRuns: runs * 2 })
  t.pass('same answers, and no pattern or value makes it throw')
  t.end()
})

test('fuzz: matching takes linear time: many-star patterns against long claim values (no ReDoS)', t => {
  // Anyone who can push may name a branch; a mapping may say `ref: "feature/*-*-*-*-final"`. A backtracking RegExp
  // takes O(n^k) on such a pair; the broker must answer within its Lambda timeout whatever the branch is called.
  const star = fc.constantFrom('*', '**')
  const pattern = fc.array(fc.tuple(star, fc.constantFrom('a', '-', 'ab', '/')), { minLength: 4, maxLength: 40 }).map(parts => parts.map(([s, l]) => s + l).join('') + 'x')
  const value = fc.tuple(fc.constantFrom('a', '-', 'ab', 'a/'), fc.integer({ min: 200, max: 2048 })).map(([c, n]) => c.repeat(Math.ceil(n / c.length)).slice(0, n))
  let slowest = 0
  const branch = `feature/${'-'.repeat(247)}`
  const started = Date.now()
  t.equal(patternMatcher('feature/*-*-*-*-*-final')(branch), false, 'feature/*-*-*-*-*-final does not match a 255-character branch of dashes')
  // No timing threshold (timings live in bench/matcher.ts): a backtracking matcher would take minutes here, not fail.
  t.comment(`answered in ${Date.now() - started} ms (the backtracking RegExp took 3.7 s with four stars, minutes with five)`)
  fc.assert(fc.property(pattern, value, (p, v) => {
    const started = process.hrtime.bigint()
    patternMatcher(p)(v)
    slowest = Math.max(slowest, Number(process.hrtime.bigint() - started) / 1e6)
    return true
  }), { numRuns: Math.min(runs, 300) })
  t.pass(`adversarial pattern and value pairs all answered; the slowest took ${slowest.toFixed(1)} ms`)
  t.end()
})
