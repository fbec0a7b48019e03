// Bad tokens and bad requests against the running broker (sandbox): each case changes one thing and expects the
// contract's status and code (DESIGN §2). None reaches STS; only authenticated denials (403) leave audit records.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import type { AuditRecord } from '../../src/broker/audit'
import type { TokenRefusalReason } from '../../src/broker/errors'
import { AUDIENCE, ROLE_ARN, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { attackerKey, b64url, decode, segment, signRs256 } from './helpers/forge'
import type { Attacker } from './helpers/forge'
import { call } from './helpers/harness'
import type { Answer, Req } from './helpers/harness'
import { Witness } from './helpers/witness'

let env: BrokerEnv
const witness = new Witness()
const audit: AuditRecord[] = []
let answers: Answer[] = []

interface Kit {
  readonly env: BrokerEnv
  readonly issuer: string
  readonly now: number
  /** A token the mapping allows, and its header and claims, to change one thing in. */
  readonly good: string
  readonly header: Record<string, unknown>
  readonly claims: Record<string, unknown>
  readonly attacker: Attacker
  mint: BrokerEnv['mint']
  /** Signed with the issuer's own key: only the changed thing is wrong. */
  real (header: unknown, payload: unknown, raw?: boolean): Promise<string>
  /** Signed with a key nobody trusts. */
  forged (header: unknown, payload: unknown): Promise<string>
}

interface Case {
  readonly name: string
  readonly req: (k: Kit) => Promise<Req> | Req
  readonly status: number
  readonly code: string
  /** Asks for format=shell: the error must be the script that stops `eval`. */
  readonly shell?: boolean
  /** The rule that refused, as the message names it. */
  readonly rule?: RegExp
  /** A 401's reason, as the refusal was thrown with it (errors.ts) and the TokenRefused metric counts it. */
  readonly reason?: TokenRefusalReason
}

const bearer = (token: string | Promise<string>) => async (): Promise<Req> => ({ token: await token })
const withToken = (f: (k: Kit) => Promise<string>) => async (k: Kit): Promise<Req> => ({ token: await f(k) })
const query = (q: string) => (k: Kit): Req => ({ token: k.good, query: q })
const unauthorized = (name: string, reason: TokenRefusalReason, f: (k: Kit) => Promise<string>): Case => ({ name, req: withToken(f), status: 401, code: 'invalid_token', reason })
const badRequest = (name: string, req: (k: Kit) => Req): Case => ({ name, req, status: 400, code: 'invalid_request' })
const denied = (name: string, f: (k: Kit) => Promise<string>, q = 'role=deploy'): Case => ({ name, req: async k => ({ token: await f(k), query: q }), status: 403, code: 'access_denied' })
/** A GitLab path of `n` segments (g1/g2/...), and its namespace (all but the last). */
const path = (n: number) => Array.from({ length: n }, (_, i) => `g${i + 1}`).join('/')
const deep = (n: number) => ({ project_path: path(n), namespace_path: path(n - 1) })
const method = (m: string, path = '/credentials', status = 405, code = 'method_not_allowed'): Case => ({ name: `${m} ${path}`, req: k => ({ method: m, path, token: k.good }), status, code })

const CASES: Case[] = [
  // The algorithm and the signature
  unauthorized('alg none, unsigned', 'malformed', k => k.mint({}, { header: { alg: 'none' } })),
  unauthorized('alg none with a signature part', 'algorithm', async k => `${segment({ alg: 'none', typ: 'JWT' })}.${segment(k.claims)}.${b64url('signature')}`),
  unauthorized('alg "None" (case variant) signed by the issuer', 'algorithm', k => k.real({ ...k.header, alg: 'None' }, k.claims)),
  unauthorized('HS256 with the issuer\'s public key (PEM) as the HMAC secret', 'algorithm', k => k.mint({}, { header: { alg: 'HS256' } })),
  unauthorized('HS512 with the issuer\'s public key (PEM) as the HMAC secret', 'algorithm', k => k.mint({}, { header: { alg: 'HS512' } })),
  unauthorized('RS384 signed by the issuer\'s key', 'algorithm', k => k.mint({}, { header: { alg: 'RS384' } })),
  unauthorized('PS256 signed by the issuer\'s key', 'algorithm', k => k.mint({}, { header: { alg: 'PS256' } })),
  unauthorized('alg "rs256" (lower case) over an RS256 signature', 'algorithm', k => k.real({ ...k.header, alg: 'rs256' }, k.claims)),
  unauthorized('alg ES256 over an RSA signature', 'algorithm', k => k.real({ ...k.header, alg: 'ES256' }, k.claims)),
  unauthorized('no alg at all', 'algorithm', k => k.real({ typ: 'JWT', kid: k.header.kid }, k.claims)),
  unauthorized('RS256 signed by an unknown key, claiming the issuer\'s kid', 'signature', k => k.forged(k.header, k.claims)),
  unauthorized('RS256 signed by an unknown key, no kid', 'signature', k => k.forged({ alg: 'RS256', typ: 'JWT' }, k.claims)),
  unauthorized('a kid the issuer does not have', 'unknown_key', k => k.mint({}, { kid: 'not-a-key' })),
  unauthorized('a path-like kid', 'unknown_key', k => k.mint({}, { kid: '../../../../etc/passwd' })),
  unauthorized('an SQL-like kid', 'unknown_key', k => k.mint({}, { kid: '\' OR \'1\'=\'1\' --' })),
  unauthorized('a kid that is a URL', 'unknown_key', k => k.mint({}, { kid: 'https://attacker.example/keys.json' })),
  unauthorized('a kid that is a number', 'unknown_key', k => k.real({ ...k.header, kid: 42 }, k.claims)),
  unauthorized('jku pointing at an attacker\'s JWKS', 'unknown_key', k => k.forged({ ...k.header, kid: 'attacker', jku: `${k.env.issuer.elsewhereUrl}/oauth/discovery/keys` }, k.claims)),
  unauthorized('x5u pointing at an attacker\'s certificate', 'signature', k => k.forged({ ...k.header, x5u: `${k.env.issuer.elsewhereUrl}/cert.pem` }, k.claims)),
  unauthorized('jwk embedding the attacker\'s key', 'signature', k => k.forged({ alg: 'RS256', typ: 'JWT', jwk: k.attacker.publicJwk }, k.claims)),
  unauthorized('jwk embedding the attacker\'s key under its own kid', 'unknown_key', k => k.forged({ alg: 'RS256', kid: 'attacker', jwk: k.attacker.publicJwk }, k.claims)),
  unauthorized('x5c embedding an attacker\'s certificate', 'signature', k => k.forged({ alg: 'RS256', typ: 'JWT', x5c: [k.attacker.spki] }, k.claims)),
  unauthorized('crit naming an unknown extension', 'malformed', k => k.real({ ...k.header, crit: ['tanuki'], tanuki: true }, k.claims)),
  unauthorized('crit b64: false (an unencoded payload)', 'malformed', k => k.real({ ...k.header, crit: ['b64'], b64: false }, k.claims)),
  unauthorized('crit empty', 'malformed', k => k.real({ ...k.header, crit: [] }, k.claims)),
  unauthorized('a tampered payload with the original signature', 'signature', async k => {
    const [h, , s] = k.good.split('.')
    return `${h}.${segment({ ...k.claims, project_path: 'acme/payments/admin', project_id: '1' })}.${s}`
  }),
  unauthorized('a tampered header with the original signature', 'signature', async k => `${segment({ ...k.header, typ: 'at+jwt' })}.${k.good.split('.').slice(1).join('.')}`),
  unauthorized('the signature of another valid token', 'signature', async k => `${k.good.split('.').slice(0, 2).join('.')}.${(await k.mint()).split('.')[2]}`),
  unauthorized('the signature removed', 'malformed', async k => `${k.good.split('.').slice(0, 2).join('.')}.`),
  unauthorized('the signature with one bit flipped', 'signature', async k => {
    const [h, p, s] = k.good.split('.')
    const sig = Buffer.from(s, 'base64url')
    sig[sig.length - 1] ^= 1
    return `${h}.${p}.${b64url(sig)}`
  }),
  unauthorized('the signature with base64 padding', 'malformed', async k => `${k.good}==`),
  unauthorized('the signature re-spelled (base64url spare bits set)', 'malformed', async k => {
    const [h, p, s] = k.good.split('.')
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const other = alphabet[alphabet.indexOf(s.at(-1) as string) ^ 1]
    return `${h}.${p}.${s.slice(0, -1)}${other}`
  }),

  // Time
  unauthorized('expired an hour ago', 'expired', k => k.mint({}, { iat: k.now - 3600, expiresIn: 300 })),
  unauthorized('expired just past the 30 s leeway', 'expired', k => k.mint({ exp: k.now - 45 })),
  unauthorized('nbf in the future', 'claim', k => k.mint({ nbf: k.now + 300 })),
  unauthorized('iat in the future', 'claim', k => k.mint({}, { iat: k.now + 300, expiresIn: 600 })),
  unauthorized('no exp', 'claim', k => k.mint({}, { omit: ['exp'] })),
  unauthorized('no iat', 'claim', k => k.mint({}, { omit: ['iat'] })),
  unauthorized('exp as a string', 'claim', k => k.mint({ exp: String(k.now + 300) })),

  // Audience
  unauthorized('aud of another service', 'audience', k => k.mint({}, { audience: 'https://sts.evil.example' })),
  unauthorized('no aud', 'audience', k => k.mint({}, { omit: ['aud'] })),
  unauthorized('an aud array without ours', 'audience', k => k.mint({}, { audience: ['https://a.example', 'https://b.example'] })),
  unauthorized('our aud with a trailing slash', 'audience', k => k.mint({}, { audience: `${AUDIENCE}/` })),
  unauthorized('an empty aud', 'audience', k => k.mint({}, { audience: '' })),

  // Issuer
  unauthorized('an issuer not on the allowlist', 'untrusted_issuer', k => k.mint({ iss: 'https://gitlab.evil.example' })),
  unauthorized('the allowlisted issuer with a trailing slash', 'untrusted_issuer', k => k.mint({ iss: `${k.issuer}/` })),
  unauthorized('the allowlisted issuer in another case', 'untrusted_issuer', k => k.mint({ iss: k.issuer.replace('http://', 'HTTP://') })),
  unauthorized('the allowlisted issuer over https instead of http', 'untrusted_issuer', k => k.mint({ iss: k.issuer.replace('http://', 'https://') })),
  unauthorized('the allowlisted issuer with a path added', 'untrusted_issuer', k => k.mint({ iss: `${k.issuer}/evil` })),
  unauthorized('no iss', 'untrusted_issuer', k => k.mint({}, { omit: ['iss'] })),
  unauthorized('iss as an array holding the allowlisted issuer', 'untrusted_issuer', k => k.mint({ iss: [k.issuer] })),

  // Claim shapes
  unauthorized('project_id as a number', 'gitlab_claims', k => k.mint({ project_id: 4301877 })),
  unauthorized('project_id as an object', 'gitlab_claims', k => k.mint({ project_id: { $ne: null } })),
  unauthorized('project_id with a leading zero', 'gitlab_claims', k => k.mint({ project_id: '04301877' })),
  unauthorized('ref_protected as the boolean true', 'gitlab_claims', k => k.mint({ ref_protected: true })),
  unauthorized('ref_protected as "TRUE"', 'gitlab_claims', k => k.mint({ ref_protected: 'TRUE' })),
  unauthorized('job_id that is not an ID', 'gitlab_claims', k => k.mint({ job_id: '1; rm -rf /' })),
  unauthorized('groups_direct that is not a list', 'gitlab_claims', k => k.mint({ groups_direct: 'acme' })),
  unauthorized('no project_path', 'gitlab_claims', k => k.mint({}, { omit: ['project_path'] })),
  unauthorized('no project_id', 'gitlab_claims', k => k.mint({}, { omit: ['project_id'] })),
  unauthorized('no namespace_id', 'gitlab_claims', k => k.mint({}, { omit: ['namespace_id'] })),
  unauthorized('no jti', 'gitlab_claims', k => k.mint({}, { omit: ['jti'] })),
  unauthorized('no sub', 'gitlab_claims', k => k.mint({}, { omit: ['sub'] })),
  unauthorized('project_path ending in ..', 'gitlab_claims', k => k.mint({ project_path: 'acme/payments/..' })),
  unauthorized('project_path climbing with ..', 'gitlab_claims', k => k.mint({ project_path: 'acme/payments/../../acme/payments/api' })),
  unauthorized('project_path with //', 'gitlab_claims', k => k.mint({ project_path: 'acme/payments//api' })),
  unauthorized('project_path with a leading /', 'gitlab_claims', k => k.mint({ project_path: '/acme/payments/api', namespace_path: '/acme/payments' })),
  unauthorized('project_path with a trailing /', 'gitlab_claims', k => k.mint({ project_path: 'acme/payments/api/' })),
  unauthorized('project_path with a percent-encoded letter', 'gitlab_claims', k => k.mint({ project_path: 'acme/payments/%61pi' })),
  unauthorized('project_path with an encoded slash', 'gitlab_claims', k => k.mint({ project_path: 'acme%2Fpayments/api', namespace_path: 'acme%2Fpayments' })),
  unauthorized('project_path with a Cyrillic look-alike', 'gitlab_claims', k => k.mint({ project_path: 'acme/payments/\u0430pi' })),
  unauthorized('project_path with full-width letters', 'gitlab_claims', k => k.mint({ project_path: '\uff41cme/payments/api', namespace_path: '\uff41cme/payments' })),
  unauthorized('project_path outside its namespace_path', 'gitlab_claims', k => k.mint({ project_path: 'evil/api' })),
  // GitLab nests a top-level group and at most 20 subgroups, then the project: 22 segments. Each is a candidate scope,
  // and 99 or more passed DynamoDB's 100-key BatchGetItem (a 503 and an error log, before this rule).
  { ...unauthorized('project_path 23 segments deep', 'gitlab_claims', k => k.mint(deep(23))), rule: /"project_path" claim has 23 segments; GitLab allows at most 22/ },
  { ...unauthorized('project_path 99 segments deep', 'gitlab_claims', k => k.mint(deep(99))), rule: /"project_path" claim has 99 segments; GitLab allows at most 22/ },
  { ...unauthorized('namespace_path 22 segments deep', 'gitlab_claims', k => k.mint({ namespace_path: path(22) })), rule: /"namespace_path" claim has 22 segments; GitLab allows at most 21/ },

  // Token shapes and sizes
  { name: 'a 9000-byte token', req: bearer('a'.repeat(9000)), status: 413, code: 'payload_too_large' },
  { name: 'a validly signed token padded past 8 KiB', req: withToken(k => k.mint({ padding: 'x'.repeat(7000) })), status: 413, code: 'payload_too_large' },
  { name: 'a 20 KiB JSON body', req: k => ({ token: k.good, query: '', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'deploy', pad: 'x'.repeat(20_000) }) }), status: 413, code: 'payload_too_large' },
  { name: 'a 1 MiB form body', req: k => ({ token: k.good, query: '', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `role=deploy&pad=${'x'.repeat(1 << 20)}` }), status: 413, code: 'payload_too_large' },
  { name: 'an empty Bearer', req: () => ({ authorization: 'Bearer ' }), status: 401, code: 'invalid_token', reason: 'missing' },
  { name: 'no Authorization header', req: () => ({ authorization: null }), status: 401, code: 'invalid_token', reason: 'missing' },
  unauthorized('a token that is not a JWT', 'malformed', async () => 'hello'),
  unauthorized('a two-part token', 'malformed', async k => k.good.split('.').slice(0, 2).join('.')),
  unauthorized('a four-part token', 'malformed', async k => `${k.good}.${k.good.split('.')[2]}`),
  unauthorized('a five-part (JWE-shaped) token', 'malformed', async k => `${k.good}.x.y`),
  unauthorized('a six-part token', 'malformed', async k => `${k.good}.${k.good}`.split('.').slice(0, 6).join('.')),
  unauthorized('a header that is not JSON', 'malformed', k => k.real('not json', JSON.stringify(k.claims), true)),
  unauthorized('a payload that is not JSON', 'malformed', k => k.real(JSON.stringify(k.header), 'not json', true)),
  unauthorized('a payload that is a JSON array', 'malformed', k => k.real(k.header, [k.claims])),
  unauthorized('exp of 1e20, validly signed (not whole seconds: the audit write failed, a 503)', 'gitlab_claims', k => k.real(k.header, { ...k.claims, exp: 1e20 })),
  unauthorized('exp past the year 9999, validly signed', 'gitlab_claims', k => k.real(k.header, { ...k.claims, exp: 253402300800 })),

  // The Authorization header
  { name: 'the Basic scheme', req: () => ({ authorization: 'Basic YWRtaW46YWRtaW4=' }), status: 401, code: 'invalid_token', reason: 'missing' },
  { name: 'a "Token" scheme', req: k => ({ authorization: `Token ${k.good}` }), status: 401, code: 'invalid_token', reason: 'missing' },
  { name: 'Bearer with two tokens', req: k => ({ authorization: `Bearer ${k.good} ${k.good}` }), status: 401, code: 'invalid_token', reason: 'missing' },
  { name: 'Bearer with comma-separated tokens', req: k => ({ authorization: `Bearer ${k.good},${k.good}` }), status: 401, code: 'invalid_token', reason: 'malformed' },
  { name: 'two Authorization headers', req: k => ({ authorization: [`Bearer ${k.good}`, `Bearer ${k.good}`] }), status: 401, code: 'invalid_token', reason: 'missing' },
  { name: 'a raw token on POST (no scheme)', req: k => ({ authorization: k.good }), status: 401, code: 'invalid_token', reason: 'missing' },
  { name: 'Bearer and a tab', req: k => ({ authorization: `Bearer\t${k.good}` }), status: 401, code: 'invalid_token', reason: 'missing' },

  // Parameters (with a valid token: the request is refused before it is used)
  badRequest('role missing', query('')),
  badRequest('role empty', query('role=')),
  badRequest('role too long', query(`role=${'a'.repeat(65)}`)),
  badRequest('role with a quote injection', query(`role=${encodeURIComponent('deploy\' OR \'1\'=\'1')}`)),
  badRequest('role with CRLF', query('role=deploy%0d%0aX-Injected:%201')),
  badRequest('role with path traversal', query('role=..%2Fadmin')),
  badRequest('role with a Cyrillic look-alike', query(`role=${encodeURIComponent('d\u0435ploy')}`)),
  badRequest('role given twice', query('role=deploy&role=admin')),
  badRequest('role given twice in a JSON body (JSON.parse would keep the last)', k => ({ token: k.good, query: '', headers: { 'content-type': 'application/json' }, body: '{"role":"readonly","role":"deploy"}' })),
  badRequest('role as an object in JSON (NoSQL style)', k => ({ token: k.good, query: '', headers: { 'content-type': 'application/json' }, body: '{"role":{"$ne":null}}' })),
  badRequest('duration negative', query('role=deploy&duration=-900')),
  badRequest('duration huge', query('role=deploy&duration=99999999999999999999')),
  badRequest('duration not a number', query('role=deploy&duration=1h')),
  badRequest('duration with a fraction', query('role=deploy&duration=900.5')),
  badRequest('duration under 900', query('role=deploy&duration=899')),
  badRequest('an unknown format', query('role=deploy&format=xml')),
  badRequest('an unknown parameter', query('role=deploy&debug=1')),
  badRequest('a JSON array body', k => ({ token: k.good, query: '', headers: { 'content-type': 'application/json' }, body: '["deploy"]' })),
  badRequest('a text/plain body', k => ({ token: k.good, query: '', headers: { 'content-type': 'text/plain' }, body: 'role=deploy' })),
  badRequest('format on GET', k => ({ method: 'GET', authorization: k.good, query: 'role=deploy&format=shell' })),
  // A token pasted where a parameter goes: the refusal names the parameter, never echoes the token (body or logs)
  badRequest('the token as a JSON body key', k => ({ token: k.good, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [k.good]: true }) })),
  badRequest('the token twice as form body keys', k => ({ token: k.good, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${k.good}&${k.good}` })),
  badRequest('the token as a key in both the query and the body', k => ({ token: k.good, query: `role=deploy&${k.good}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: k.good })),
  badRequest('the token twice as query keys', k => ({ token: k.good, query: `role=deploy&${k.good}&${k.good}` })),

  // Methods and paths (the catch-all route)
  method('PUT'), method('DELETE'), method('PATCH'), method('OPTIONS'), method('POST', '/healthz'),
  method('GET', '/admin/mappings', 404, 'not_found'),
  // API Gateway matches a route's path exactly: another case or a trailing slash is another path (the catch-all's 404).
  ...[['POST', '/Credentials'], ['GET', '/CREDENTIALS'], ['POST', '/credentials/'], ['GET', '/credentials/'], ['GET', '/Healthz'], ['GET', '/healthz/']]
    .map(([m, p]): Case => ({ ...method(m, p, 404, 'not_found'), rule: /^Not found\. The broker answers POST \/credentials, GET \/credentials and GET \/healthz\.$/ })),

  // Valid tokens without a grant: 403, each audited
  denied('a token for another project', k => k.mint({ project_path: 'acme/payments/web', project_id: '99' })),
  denied('the mapped path with another project_id (a re-created or squatted project)', k => k.mint({ project_id: '5550001' })),
  denied('a sibling group whose name extends the mapped one', k => k.mint({ project_path: 'acme/payments-evil/api', namespace_path: 'acme/payments-evil' })),
  denied('an unprotected ref under the default', k => k.mint({ ref_protected: 'false' })),
  denied('a fork merge-request pipeline', k => k.mint({
    ref: 'main', ref_type: 'branch', ref_path: 'refs/merge-requests/42/head', ref_protected: 'false',
    pipeline_source: 'merge_request_event', source_project_id: '6660001', source_project_path: 'mallory/api',
  })),
  denied('another ref', k => k.mint({ ref: 'develop' })),
  denied('a role with no mapping', k => k.mint(), 'role=admin'),
  { ...denied('a project at GitLab\'s deepest (22 segments) with no mapping', k => k.mint({ ...deep(22), project_id: '7' })), rule: /^No mapping lets \S+\/g1\/\S+\/g22 use the role "deploy"/ },
  denied('a disabled mapping', k => k.mint(), 'role=disabled'),

  // In format=shell, every error is the script that stops `eval`
  { ...unauthorized('an expired token, format=shell', 'expired', k => k.mint({}, { iat: k.now - 3600 })), shell: true },
  { ...badRequest('role with a shell injection, format=shell', k => ({ token: k.good, query: `role=${encodeURIComponent('$(id)')}` })), shell: true },
  { name: 'a 9000-byte token, format=shell', req: bearer('a'.repeat(9000)), status: 413, code: 'payload_too_large', shell: true },
  { ...denied('an unprotected ref, format=shell', k => k.mint({ ref_protected: 'false' })), shell: true },
]

function checkAnswer (t: test.Test, c: Case, r: Answer): void {
  const stack = /\n\s+at \S|node_modules|\.ts:\d+|\.js:\d+/
  t.equal(r.status, c.status, `${c.name}: ${c.status}`)
  t.notOk(stack.test(r.text), `${c.name}: no stack trace`)
  if (c.shell) {
    t.match(r.text, /^printf '%s\\n' '.*' >&2\nexit 1\n$/s, `${c.name}: the error script`)
    const run = spawnSync('bash', ['-c', 'eval "$1"; echo ran-on', 'bash', r.text], { encoding: 'utf8' })
    t.ok(run.status !== 0 && !run.stdout.includes('ran-on') && run.stderr.startsWith(`tanuki-sts: ${c.code}: `), `${c.name}: eval stops with "${c.code}" on stderr`)
    return
  }
  t.equal(r.body.error, c.code, `${c.name}: ${c.code}`)
  if (c.rule) t.match(String(r.body.message), c.rule, `${c.name}: refused by the rule its message names`)
  t.ok(typeof r.body.message === 'string' && typeof r.body.requestId === 'string', `${c.name}: a message and a request id`)
  if (c.status === 401) t.match(String(r.headers.get('www-authenticate')), /error="invalid_token"/, `${c.name}: a Bearer challenge`)
}

/** Runs the cases a few at a time (each sandbox request is a fresh Lambda process), answers in table order. */
async function runAll (kit: Kit, cases: readonly Case[], parallel: number): Promise<Answer[]> {
  const answers: Answer[] = []
  let next = 0
  const worker = async () => {
    for (let i = next++; i < cases.length; i = next++) {
      const c = cases[i]
      const req = await c.req(kit)
      answers[i] = await call(env, witness, { ...req, ...(c.shell && { query: `${req.query ?? 'role=deploy'}&format=shell` }) })
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return answers
}

test('Set up env', async t => {
  env = await startBrokerEnv()
  const scope = `${env.issuer.url}/acme/payments/api`
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  await env.putMapping({ scope, role: 'disabled', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, enabled: false })
  t.ok(env.url, `broker running at ${env.url}`)
})

test('control: the unchanged token is issued', async t => {
  const r = await call(env, witness, { token: await env.mint() })
  t.equal(r.status, 200, 'a valid token for the mapped project and ref gets credentials')
  t.equal(env.sts.calls.AssumeRole, 1, 'through one AssumeRole')
  audit.push(...await env.auditRecords())
  await env.reset()
  const scope = `${env.issuer.url}/acme/payments/api`
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  await env.putMapping({ scope, role: 'disabled', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, enabled: false })
})

test(`attacks: ${CASES.length} bad tokens and requests, each answered with the contract's status and code`, async t => {
  const names = new Set(CASES.map(c => c.name))
  t.equal(names.size, CASES.length, `${CASES.length} distinct cases`)
  const good = await env.mint()
  const { header, payload } = decode(good)
  const attacker = await attackerKey()
  const kit: Kit = {
    env, issuer: env.issuer.url, now: Math.floor(Date.now() / 1000), good, header, claims: payload, attacker,
    mint: (claims, opts) => env.mint(claims, opts),
    real: (h, p, raw) => signRs256(h, p, env.issuer.privateKey, raw),
    forged: (h, p) => signRs256(h, p, attacker.privateKey),
  }
  answers = await runAll(kit, CASES, 3)
  CASES.forEach((c, i) => checkAnswer(t, c, answers[i]))
  t.equal(answers.filter(a => a.status >= 500).length, 0, 'no case was answered 5xx')

  t.equal(env.sts.calls.AssumeRole, 0, 'the local STS recorded zero AssumeRole calls')
  t.equal(env.issuer.stats.elsewhere, 0, 'no jku, x5u or other URL from a token was fetched')
  const records = await env.auditRecords()
  audit.push(...records)
  const deniedCases = CASES.filter(c => c.status === 403).length
  t.equal(records.length, deniedCases, `exactly the ${deniedCases} authenticated denials left audit records`)
  t.ok(records.every(r => r.outcome === 'denied' && r.sk.startsWith('deny#')), 'each a denial; no issuance was reserved')
})

test('every 401 is counted by the reason it was refused for: the Reason of its TokenRefused metric', async t => {
  const refused = CASES.map((c, i) => ({ c, requestId: answers[i]?.headers.get('x-request-id') ?? '' })).filter(({ c }) => c.status === 401)
  t.ok(refused.every(({ c }) => c.reason !== undefined), `each of the ${refused.length} cases names its reason`)
  // The credentials Lambda's EMF line for each request, by its request id, once sandbox has relayed it.
  const reasonOf = (requestId: string) => eventually(async () => {
    const line = env.logs.filter(l => l.startsWith('{"_aws":')).map(l => JSON.parse(l) as Record<string, unknown>).find(l => l.requestId === requestId)
    return line && { reason: line.Reason, counted: line.TokenRefused }
  })
  for (const { c, requestId } of refused) {
    const line = await reasonOf(requestId)
    t.deepEqual(line, { reason: c.reason, counted: 1 }, `${c.name}: TokenRefused, Reason ${c.reason}`)
  }
})

test('format=shell asked in a JSON body, however spelt, gets its errors as the script that stops eval', async t => {
  // A ref is the pusher's to name, and `x$(touch${IFS}FILE)` is a valid git branch; a 403 quotes it. Answered as JSON
  // to a caller that asked for shell, `eval` would run the $(...) inside the message's double quotes.
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-eval-'))
  const marker = join(dir, 'pwned')
  const token = await env.mint({ ref: `x$(touch\${IFS}${marker})` })
  const json = { 'content-type': 'application/json' }
  const answers = await Promise.all([
    call(env, witness, { token, query: '', headers: json, body: '{"role":"deploy","format":"sh\\u0065ll"}' }),
    call(env, witness, { token, query: '', headers: json, body: '{"role":"deploy","format":"sh\\u0065ll","debug":1}' }),
  ])
  t.plan(answers.length * 2 + 1)
  for (const [i, r] of answers.entries()) {
    t.match(r.text, /^printf '%s\\n' '.*' >&2\nexit 1\n$/s, `${i === 0 ? 'a 403 after the request parsed' : 'a 400 for an unknown key'}: the error script`)
    const run = spawnSync('bash', ['-c', 'eval "$1"; echo ran-on', 'bash', r.text], { encoding: 'utf8' })
    t.ok(run.status !== 0 && !run.stdout.includes('ran-on'), 'eval stops there')
  }
  t.notOk(existsSync(marker), 'and nothing from the token ran')
  rmSync(dir, { recursive: true, force: true })
})

test('no secret appears in any log line, error body or audit record', async t => {
  witness.auditRecords.push(...audit)
  witness.check(t, env.logs)
})

test('Teardown', async t => {
  await env.stop()
  t.pass('sandbox, issuer and STS stopped')
})
