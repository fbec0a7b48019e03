// Bad tokens and bad requests against the running broker (sandbox): each case changes one thing and expects the
// contract's status and code (DESIGN §2), and the message of the rule that refused it. None reaches STS; only
// authenticated denials (403) leave audit records.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import type { TokenRefusalReason } from '../../src/broker/errors'
import { AUDIENCE, ROLE_ARN, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import type { Answer } from '../helpers/post'
import { attackerKey, b64url, decode, segment, signRs256 } from './helpers/forge'
import type { Attacker } from './helpers/forge'
import { call, fresh } from './helpers/harness'
import type { Req } from './helpers/harness'
import { Witness } from './helpers/witness'

let env: BrokerEnv
const witness = new Witness()
let answers: Answer[] = []
/** The project's deploy mapping (ref main) and a disabled one. */
const mappings = () => {
  const scope = `${env.issuer.url}/acme/payments/api`
  return [
    { scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } },
    { scope, role: 'disabled', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, enabled: false },
  ]
}

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
  /** The rule that refused, as the message names it: a case another rule refuses first would test nothing. */
  readonly rule: Rule
  /** A 401's reason, as the refusal was thrown with it (errors.ts) and the TokenRefused metric counts it. */
  readonly reason?: TokenRefusalReason
  /** Asks for format=shell: the error must be the script that stops `eval`. */
  readonly shell?: boolean
}

/** A message pattern, or one that names the running issuer (its URL holds a port chosen at start). */
type Rule = RegExp | ((k: Kit) => RegExp)
/** The whole message, every character literal. */
const says = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`)
/** A message that begins so. */
const begins = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`)

/** The rules, by the message each refusal carries (token.ts, claims.ts, request.ts, denial-message.ts, the catch-all). */
const R = {
  notJws: says('The ID token is not a signed JWT (expected three base64url parts).'),
  canonical: says('The ID token is not canonically base64url-encoded.'),
  decode: says('The ID token could not be decoded.'),
  alg: (alg: string | undefined) => says(`The ID token is signed with ${alg === undefined ? 'undefined' : JSON.stringify(alg)}; only RS256 is accepted.`),
  extensions: says('The ID token uses JWS extensions (crit, b64) the broker does not accept.'),
  signature: says('The ID token\'s signature does not verify.'),
  kid: says('The ID token\'s key (kid) is not one of its issuer\'s keys.'),
  expired: says('The ID token has expired; request a fresh one (id_tokens:).'),
  notYet: (claim: string) => says(`The ID token's "${claim}" claim does not have the value this broker requires.`),
  iatFuture: says('The ID token\'s "iat" is in the future; check the issuer\'s clock.'),
  missing: (claim: string) => says(`The ID token's "${claim}" claim is missing.`),
  malformed: (claim: string) => says(`The ID token's "${claim}" claim is malformed.`),
  audience: (has: string) => says(`The ID token has ${has}; this broker accepts only "${AUDIENCE}". ` +
    `Set it as the token's aud in the job's id_tokens: (e.g. BROKER_ID_TOKEN: { aud: ${AUDIENCE} }).`),
  issuer: (shown: (k: Kit) => string) => (k: Kit) => says(`The ID token's issuer ${shown(k)} is not trusted by this broker (BROKER_ISSUERS).`),
  notGitLab: (what: string) => says(`The token${what}; this is not a GitLab CI ID token the broker accepts.`),
  notPath: says('The token\'s "project_path" claim is not a GitLab project path; this is not a GitLab CI ID token the broker accepts.'),
  tokenSize: says('The ID token is larger than 8192 bytes.'),
  bodySize: says('The request body is larger than 16384 bytes.'),
  scheme: says('The Authorization header must be "Bearer <GitLab ID token>" (one token, no other scheme).'),
  roleName: says('The "role" parameter must be 1 to 64 letters, digits or _.@+=- starting with a letter or digit.'),
  roleRequired: says('The "role" parameter is required: the name of the role your mapping grants, e.g. ?role=deploy.'),
  duration: says('The "duration" parameter must be a whole number of seconds from 900 to 3600.'),
  /** A parameter named in a refusal is cut to 64 characters: a token pasted as one is never echoed. */
  cut: /"eyJ[\w-]{61}\.\.\."/,
  notFound: says('Not found. The broker answers POST /credentials, GET /credentials and GET /healthz.'),
  noMapping: (path: string) => (k: Kit) => begins(`No mapping lets ${k.issuer}/${path} use the role "deploy". Ask an admin to add one`),
  requires: (what: string) => (k: Kit) => says(`The mapping ${k.issuer}/acme/payments/api for the role "deploy" requires ${what}.`),
  unprotected: (k: Kit) => says(`The mapping ${k.issuer}/acme/payments/api for the role "deploy" requires ref_protected to be "true" ` +
    '(the default: only protected refs may use a mapping that does not say otherwise); this token has "false".'),
}

const bearer = (token: string | Promise<string>) => async (): Promise<Req> => ({ token: await token })
const withToken = (f: (k: Kit) => Promise<string>) => async (k: Kit): Promise<Req> => ({ token: await f(k) })
const query = (q: string) => (k: Kit): Req => ({ token: k.good, query: q })
const unauthorized = (name: string, reason: TokenRefusalReason, rule: Rule, f: (k: Kit) => Promise<string>): Case =>
  ({ name, req: withToken(f), status: 401, code: 'invalid_token', reason, rule })
const badRequest = (name: string, rule: Rule, req: (k: Kit) => Req): Case => ({ name, req, status: 400, code: 'invalid_request', rule })
const tooLarge = (name: string, rule: Rule, req: (k: Kit) => Promise<Req> | Req): Case => ({ name, req, status: 413, code: 'payload_too_large', rule })
const header = (name: string, reason: TokenRefusalReason, rule: Rule, req: (k: Kit) => Req): Case => ({ name, req, status: 401, code: 'invalid_token', reason, rule })
const denied = (name: string, rule: Rule, f: (k: Kit) => Promise<string>, q = 'role=deploy'): Case =>
  ({ name, req: async k => ({ token: await f(k), query: q }), status: 403, code: 'access_denied', rule })
/** A GitLab path of `n` segments (g1/g2/...), and its namespace (all but the last). */
const path = (n: number) => Array.from({ length: n }, (_, i) => `g${i + 1}`).join('/')
const deep = (n: number) => ({ project_path: path(n), namespace_path: path(n - 1) })
const method = (m: string, path: string, allow: string): Case =>
  ({ name: `${m} ${path}`, req: k => ({ method: m, path, token: k.good }), status: 405, code: 'method_not_allowed', rule: says(`${path} does not take ${m}; use ${allow}.`) })
const notFound = (m: string, path: string): Case => ({ name: `${m} ${path}`, req: k => ({ method: m, path, token: k.good }), status: 404, code: 'not_found', rule: R.notFound })
const json = { 'content-type': 'application/json' }
const form = { 'content-type': 'application/x-www-form-urlencoded' }

const CASES: Case[] = [
  // The algorithm and the signature
  // An unsigned token has an empty third part: the compact-JWS shape refuses it before its alg is read.
  unauthorized('alg none, unsigned', 'malformed', R.notJws, k => k.mint({}, { header: { alg: 'none' } })),
  unauthorized('alg none with a signature part', 'algorithm', R.alg('none'), async k => `${segment({ alg: 'none', typ: 'JWT' })}.${segment(k.claims)}.${b64url('signature')}`),
  unauthorized('alg "None" (case variant) signed by the issuer', 'algorithm', R.alg('None'), k => k.real({ ...k.header, alg: 'None' }, k.claims)),
  unauthorized('HS256 with the issuer\'s public key (PEM) as the HMAC secret', 'algorithm', R.alg('HS256'), k => k.mint({}, { header: { alg: 'HS256' } })),
  unauthorized('HS512 with the issuer\'s public key (PEM) as the HMAC secret', 'algorithm', R.alg('HS512'), k => k.mint({}, { header: { alg: 'HS512' } })),
  unauthorized('RS384 signed by the issuer\'s key', 'algorithm', R.alg('RS384'), k => k.mint({}, { header: { alg: 'RS384' } })),
  unauthorized('PS256 signed by the issuer\'s key', 'algorithm', R.alg('PS256'), k => k.mint({}, { header: { alg: 'PS256' } })),
  unauthorized('alg "rs256" (lower case) over an RS256 signature', 'algorithm', R.alg('rs256'), k => k.real({ ...k.header, alg: 'rs256' }, k.claims)),
  unauthorized('alg ES256 over an RSA signature', 'algorithm', R.alg('ES256'), k => k.real({ ...k.header, alg: 'ES256' }, k.claims)),
  unauthorized('no alg at all', 'algorithm', R.alg(undefined), k => k.real({ typ: 'JWT', kid: k.header.kid }, k.claims)),
  unauthorized('RS256 signed by an unknown key, claiming the issuer\'s kid', 'signature', R.signature, k => k.forged(k.header, k.claims)),
  unauthorized('RS256 signed by an unknown key, no kid', 'signature', R.signature, k => k.forged({ alg: 'RS256', typ: 'JWT' }, k.claims)),
  unauthorized('a kid the issuer does not have', 'unknown_key', R.kid, k => k.mint({}, { kid: 'not-a-key' })),
  unauthorized('a path-like kid', 'unknown_key', R.kid, k => k.mint({}, { kid: '../../../../etc/passwd' })),
  unauthorized('an SQL-like kid', 'unknown_key', R.kid, k => k.mint({}, { kid: '\' OR \'1\'=\'1\' --' })),
  unauthorized('a kid that is a URL', 'unknown_key', R.kid, k => k.mint({}, { kid: 'https://attacker.example/keys.json' })),
  unauthorized('a kid that is a number', 'unknown_key', R.kid, k => k.real({ ...k.header, kid: 42 }, k.claims)),
  // A key named in the token is never fetched or used: the kid picks one of the issuer's own keys, or none.
  unauthorized('jku pointing at an attacker\'s JWKS', 'unknown_key', R.kid, k => k.forged({ ...k.header, kid: 'attacker', jku: `${k.env.issuer.elsewhereUrl}/oauth/discovery/keys` }, k.claims)),
  unauthorized('x5u pointing at an attacker\'s certificate', 'signature', R.signature, k => k.forged({ ...k.header, x5u: `${k.env.issuer.elsewhereUrl}/cert.pem` }, k.claims)),
  unauthorized('jwk embedding the attacker\'s key', 'signature', R.signature, k => k.forged({ alg: 'RS256', typ: 'JWT', jwk: k.attacker.publicJwk }, k.claims)),
  unauthorized('jwk embedding the attacker\'s key under its own kid', 'unknown_key', R.kid, k => k.forged({ alg: 'RS256', kid: 'attacker', jwk: k.attacker.publicJwk }, k.claims)),
  unauthorized('x5c embedding an attacker\'s certificate', 'signature', R.signature, k => k.forged({ alg: 'RS256', typ: 'JWT', x5c: [k.attacker.spki] }, k.claims)),
  unauthorized('crit naming an unknown extension', 'malformed', R.extensions, k => k.real({ ...k.header, crit: ['tanuki'], tanuki: true }, k.claims)),
  unauthorized('crit b64: false (an unencoded payload)', 'malformed', R.extensions, k => k.real({ ...k.header, crit: ['b64'], b64: false }, k.claims)),
  unauthorized('crit empty', 'malformed', R.extensions, k => k.real({ ...k.header, crit: [] }, k.claims)),
  unauthorized('a tampered payload with the original signature', 'signature', R.signature, async k => {
    const [h, , s] = k.good.split('.')
    return `${h}.${segment({ ...k.claims, project_path: 'acme/payments/admin', project_id: '1' })}.${s}`
  }),
  unauthorized('a tampered header with the original signature', 'signature', R.signature, async k => `${segment({ ...k.header, typ: 'at+jwt' })}.${k.good.split('.').slice(1).join('.')}`),
  unauthorized('the signature of another valid token', 'signature', R.signature, async k => `${k.good.split('.').slice(0, 2).join('.')}.${(await k.mint()).split('.')[2]}`),
  unauthorized('the signature removed', 'malformed', R.notJws, async k => `${k.good.split('.').slice(0, 2).join('.')}.`),
  unauthorized('the signature with one bit flipped', 'signature', R.signature, async k => {
    const [h, p, s] = k.good.split('.')
    const sig = Buffer.from(s, 'base64url')
    sig[sig.length - 1] ^= 1
    return `${h}.${p}.${b64url(sig)}`
  }),
  unauthorized('the signature with base64 padding', 'malformed', R.notJws, async k => `${k.good}==`),
  unauthorized('the signature re-spelled (base64url spare bits set)', 'malformed', R.canonical, async k => {
    const [h, p, s] = k.good.split('.')
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const other = alphabet[alphabet.indexOf(s.at(-1) as string) ^ 1]
    return `${h}.${p}.${s.slice(0, -1)}${other}`
  }),

  // Time
  unauthorized('expired an hour ago', 'expired', R.expired, k => k.mint({}, { iat: k.now - 3600, expiresIn: 300 })),
  unauthorized('expired just past the 30 s leeway', 'expired', R.expired, k => k.mint({ exp: k.now - 45 })),
  unauthorized('nbf in the future', 'claim', R.notYet('nbf'), k => k.mint({ nbf: k.now + 300 })),
  // nbf in the past, so that only iat is wrong (the issuer sets nbf 5 s before iat, which would refuse it first).
  unauthorized('iat in the future', 'claim', R.iatFuture, k => k.mint({ nbf: k.now - 5 }, { iat: k.now + 300, expiresIn: 600 })),
  unauthorized('no exp', 'claim', R.missing('exp'), k => k.mint({}, { omit: ['exp'] })),
  unauthorized('no iat', 'claim', R.missing('iat'), k => k.mint({}, { omit: ['iat'] })),
  unauthorized('exp as a string', 'claim', R.malformed('exp'), k => k.mint({ exp: String(k.now + 300) })),

  // Audience
  unauthorized('aud of another service', 'audience', R.audience('the audience "https://sts.evil.example"'), k => k.mint({}, { audience: 'https://sts.evil.example' })),
  unauthorized('no aud', 'audience', R.audience('no audience'), k => k.mint({}, { omit: ['aud'] })),
  unauthorized('an aud array without ours', 'audience', R.audience('the audience ["https://a.example","https://b.example"]'), k => k.mint({}, { audience: ['https://a.example', 'https://b.example'] })),
  unauthorized('our aud with a trailing slash', 'audience', R.audience(`the audience "${AUDIENCE}/"`), k => k.mint({}, { audience: `${AUDIENCE}/` })),
  unauthorized('an empty aud', 'audience', R.audience('the audience ""'), k => k.mint({}, { audience: '' })),

  // Issuer
  unauthorized('an issuer not on the allowlist', 'untrusted_issuer', R.issuer(() => '"https://gitlab.evil.example"'), k => k.mint({ iss: 'https://gitlab.evil.example' })),
  unauthorized('the allowlisted issuer with a trailing slash', 'untrusted_issuer', R.issuer(k => `"${k.issuer}/"`), k => k.mint({ iss: `${k.issuer}/` })),
  unauthorized('the allowlisted issuer in another case', 'untrusted_issuer', R.issuer(k => `"${k.issuer.replace('http://', 'HTTP://')}"`), k => k.mint({ iss: k.issuer.replace('http://', 'HTTP://') })),
  unauthorized('the allowlisted issuer over https instead of http', 'untrusted_issuer', R.issuer(k => `"${k.issuer.replace('http://', 'https://')}"`), k => k.mint({ iss: k.issuer.replace('http://', 'https://') })),
  unauthorized('the allowlisted issuer with a path added', 'untrusted_issuer', R.issuer(k => `"${k.issuer}/evil"`), k => k.mint({ iss: `${k.issuer}/evil` })),
  unauthorized('no iss', 'untrusted_issuer', R.issuer(() => 'undefined'), k => k.mint({}, { omit: ['iss'] })),
  unauthorized('iss as an array holding the allowlisted issuer', 'untrusted_issuer', R.issuer(k => `["${k.issuer}"]`), k => k.mint({ iss: [k.issuer] })),

  // Claim shapes
  unauthorized('project_id as a number', 'gitlab_claims', R.notGitLab('\'s "project_id" claim must be a string, not number'), k => k.mint({ project_id: 4301877 })),
  unauthorized('project_id as an object', 'gitlab_claims', R.notGitLab('\'s "project_id" claim must be a string, not object'), k => k.mint({ project_id: { $ne: null } })),
  unauthorized('project_id with a leading zero', 'gitlab_claims', R.notGitLab('\'s "project_id" claim must be a decimal ID'), k => k.mint({ project_id: '04301877' })),
  unauthorized('ref_protected as the boolean true', 'gitlab_claims', R.notGitLab('\'s "ref_protected" claim must be a string, not boolean'), k => k.mint({ ref_protected: true })),
  unauthorized('ref_protected as "TRUE"', 'gitlab_claims', R.notGitLab('\'s "ref_protected" claim must be the string "true" or "false"'), k => k.mint({ ref_protected: 'TRUE' })),
  unauthorized('job_id that is not an ID', 'gitlab_claims', R.notGitLab('\'s "job_id" claim must be a decimal ID'), k => k.mint({ job_id: '1; rm -rf /' })),
  unauthorized('groups_direct that is not a list', 'gitlab_claims', R.notGitLab('\'s "groups_direct" claim must be an array of strings'), k => k.mint({ groups_direct: 'acme' })),
  unauthorized('no project_path', 'gitlab_claims', R.notGitLab(' lacks the claim "project_path"'), k => k.mint({}, { omit: ['project_path'] })),
  unauthorized('no project_id', 'gitlab_claims', R.notGitLab(' lacks the claim "project_id"'), k => k.mint({}, { omit: ['project_id'] })),
  unauthorized('no namespace_id', 'gitlab_claims', R.notGitLab(' lacks the claim "namespace_id"'), k => k.mint({}, { omit: ['namespace_id'] })),
  unauthorized('no jti', 'gitlab_claims', R.notGitLab(' lacks the claim "jti"'), k => k.mint({}, { omit: ['jti'] })),
  unauthorized('no sub', 'gitlab_claims', R.notGitLab(' lacks the claim "sub"'), k => k.mint({}, { omit: ['sub'] })),
  unauthorized('project_path ending in ..', 'gitlab_claims', R.notPath, k => k.mint({ project_path: 'acme/payments/..' })),
  unauthorized('project_path climbing with ..', 'gitlab_claims', R.notPath, k => k.mint({ project_path: 'acme/payments/../../acme/payments/api' })),
  unauthorized('project_path with //', 'gitlab_claims', R.notPath, k => k.mint({ project_path: 'acme/payments//api' })),
  unauthorized('project_path with a leading /', 'gitlab_claims', R.notPath, k => k.mint({ project_path: '/acme/payments/api', namespace_path: '/acme/payments' })),
  unauthorized('project_path with a trailing /', 'gitlab_claims', R.notPath, k => k.mint({ project_path: 'acme/payments/api/' })),
  unauthorized('project_path with a percent-encoded letter', 'gitlab_claims', R.notPath, k => k.mint({ project_path: 'acme/payments/%61pi' })),
  unauthorized('project_path with an encoded slash', 'gitlab_claims', R.notPath, k => k.mint({ project_path: 'acme%2Fpayments/api', namespace_path: 'acme%2Fpayments' })),
  unauthorized('project_path with a Cyrillic look-alike', 'gitlab_claims', R.notPath, k => k.mint({ project_path: 'acme/payments/\u0430pi' })),
  unauthorized('project_path with full-width letters', 'gitlab_claims', R.notPath, k => k.mint({ project_path: '\uff41cme/payments/api', namespace_path: '\uff41cme/payments' })),
  unauthorized('project_path outside its namespace_path', 'gitlab_claims', R.notGitLab('\'s "project_path" claim is not directly inside the token\'s namespace_path'), k => k.mint({ project_path: 'evil/api' })),
  // GitLab nests a top-level group and at most 20 subgroups, then the project: 22 segments. Each is a candidate scope,
  // and 99 or more passed DynamoDB's 100-key BatchGetItem (a 503 and an error log, before this rule).
  unauthorized('project_path 23 segments deep', 'gitlab_claims', /^The token's "project_path" claim has 23 segments; GitLab allows at most 22 /, k => k.mint(deep(23))),
  unauthorized('project_path 99 segments deep', 'gitlab_claims', /^The token's "project_path" claim has 99 segments; GitLab allows at most 22 /, k => k.mint(deep(99))),
  unauthorized('namespace_path 22 segments deep', 'gitlab_claims', /^The token's "namespace_path" claim has 22 segments; GitLab allows at most 21 /, k => k.mint({ namespace_path: path(22) })),

  // Token shapes and sizes
  tooLarge('a 9000-byte token', R.tokenSize, bearer('a'.repeat(9000))),
  tooLarge('a validly signed token padded past 8 KiB', R.tokenSize, withToken(k => k.mint({ padding: 'x'.repeat(7000) }))),
  tooLarge('a 20 KiB JSON body', R.bodySize, k => ({ token: k.good, query: '', headers: json, body: JSON.stringify({ role: 'deploy', pad: 'x'.repeat(20_000) }) })),
  tooLarge('a 1 MiB form body', R.bodySize, k => ({ token: k.good, query: '', headers: form, body: `role=deploy&pad=${'x'.repeat(1 << 20)}` })),
  header('an empty Bearer', 'missing', begins('The Authorization header says "Bearer" but carries no token'), () => ({ authorization: 'Bearer ' })),
  header('no Authorization header', 'missing', says('Send the GitLab ID token in the Authorization header: "Authorization: Bearer $ID_TOKEN".'), () => ({ authorization: null })),
  unauthorized('a token that is not a JWT', 'malformed', R.notJws, async () => 'hello'),
  unauthorized('a two-part token', 'malformed', R.notJws, async k => k.good.split('.').slice(0, 2).join('.')),
  unauthorized('a four-part token', 'malformed', R.notJws, async k => `${k.good}.${k.good.split('.')[2]}`),
  unauthorized('a five-part (JWE-shaped) token', 'malformed', R.notJws, async k => `${k.good}.x.y`),
  unauthorized('a six-part token', 'malformed', R.notJws, async k => `${k.good}.${k.good}`.split('.').slice(0, 6).join('.')),
  unauthorized('a header that is not JSON', 'malformed', R.decode, k => k.real('not json', JSON.stringify(k.claims), true)),
  unauthorized('a payload that is not JSON', 'malformed', R.decode, k => k.real(JSON.stringify(k.header), 'not json', true)),
  unauthorized('a payload that is a JSON array', 'malformed', R.decode, k => k.real(k.header, [k.claims])),
  // Validly signed: a 401 naming the claim (once a 503, when the audit write failed on a time that is not whole seconds).
  unauthorized('exp of 1e20, validly signed', 'gitlab_claims', R.notGitLab('\'s "exp" claim must be whole seconds since 1970, no later than the year 9999'), k => k.real(k.header, { ...k.claims, exp: 1e20 })),
  unauthorized('exp past the year 9999, validly signed', 'gitlab_claims', R.notGitLab('\'s "exp" claim must be whole seconds since 1970, no later than the year 9999'), k => k.real(k.header, { ...k.claims, exp: 253402300800 })),

  // The Authorization header
  header('the Basic scheme', 'missing', R.scheme, () => ({ authorization: 'Basic YWRtaW46YWRtaW4=' })),
  header('a "Token" scheme', 'missing', R.scheme, k => ({ authorization: `Token ${k.good}` })),
  header('Bearer with two tokens', 'missing', R.scheme, k => ({ authorization: `Bearer ${k.good} ${k.good}` })),
  // API Gateway joins repeated headers with commas: one value that is no JWT.
  header('Bearer with comma-separated tokens', 'malformed', R.notJws, k => ({ authorization: `Bearer ${k.good},${k.good}` })),
  header('two Authorization headers', 'missing', R.scheme, k => ({ authorization: [`Bearer ${k.good}`, `Bearer ${k.good}`] })),
  header('a raw token on POST (no scheme)', 'missing', R.scheme, k => ({ authorization: k.good })),
  header('Bearer and a tab', 'missing', R.scheme, k => ({ authorization: `Bearer\t${k.good}` })),

  // Parameters (with a valid token: the request is refused before it is used)
  badRequest('role missing', R.roleRequired, query('')),
  badRequest('role empty', R.roleRequired, query('role=')),
  badRequest('role too long', R.roleName, query(`role=${'a'.repeat(65)}`)),
  badRequest('role with a quote injection', R.roleName, query(`role=${encodeURIComponent('deploy\' OR \'1\'=\'1')}`)),
  badRequest('role with CRLF', R.roleName, query('role=deploy%0d%0aX-Injected:%201')),
  badRequest('role with path traversal', R.roleName, query('role=..%2Fadmin')),
  badRequest('role with a Cyrillic look-alike', R.roleName, query(`role=${encodeURIComponent('d\u0435ploy')}`)),
  badRequest('role given twice', says('The parameter "role" is given more than once.'), query('role=deploy&role=admin')),
  badRequest('role given twice in a JSON body (JSON.parse would keep the last)', says('The parameter "role" is given more than once.'),
    k => ({ token: k.good, query: '', headers: json, body: '{"role":"readonly","role":"deploy"}' })),
  badRequest('role as an object in JSON (NoSQL style)', says('The body parameter "role" must be a string or a number.'), k => ({ token: k.good, query: '', headers: json, body: '{"role":{"$ne":null}}' })),
  badRequest('duration negative', R.duration, query('role=deploy&duration=-900')),
  badRequest('duration huge', R.duration, query('role=deploy&duration=99999999999999999999')),
  badRequest('duration not a number', R.duration, query('role=deploy&duration=1h')),
  badRequest('duration with a fraction', R.duration, query('role=deploy&duration=900.5')),
  badRequest('duration under 900', R.duration, query('role=deploy&duration=899')),
  badRequest('an unknown format', says('The "format" parameter must be "json" or "shell".'), query('role=deploy&format=xml')),
  badRequest('an unknown parameter', says('Unknown parameter "debug"; POST /credentials takes role, duration, format.'), query('role=deploy&debug=1')),
  badRequest('a JSON array body', says('The JSON body must be an object, e.g. {"role":"deploy"}.'), k => ({ token: k.good, query: '', headers: json, body: '["deploy"]' })),
  badRequest('a text/plain body', begins('Send parameters in the query string, or as a JSON or form-encoded body'),
    k => ({ token: k.good, query: '', headers: { 'content-type': 'text/plain' }, body: 'role=deploy' })),
  badRequest('format on GET', begins('Unknown parameter "format"; GET /credentials takes role, duration.'), k => ({ method: 'GET', authorization: k.good, query: 'role=deploy&format=shell' })),
  // A token pasted where a parameter goes: the refusal names the parameter, never echoes the token (body or logs)
  badRequest('the token as a JSON body key', R.cut, k => ({ token: k.good, headers: json, body: JSON.stringify({ [k.good]: true }) })),
  badRequest('the token twice as form body keys', R.cut, k => ({ token: k.good, headers: form, body: `${k.good}&${k.good}` })),
  badRequest('the token as a key in both the query and the body', R.cut, k => ({ token: k.good, query: `role=deploy&${k.good}`, headers: form, body: k.good })),
  badRequest('the token twice as query keys', R.cut, k => ({ token: k.good, query: `role=deploy&${k.good}&${k.good}` })),

  // Methods and paths (the catch-all route)
  method('PUT', '/credentials', 'GET, POST'), method('DELETE', '/credentials', 'GET, POST'), method('PATCH', '/credentials', 'GET, POST'),
  method('OPTIONS', '/credentials', 'GET, POST'), method('POST', '/healthz', 'GET'),
  notFound('GET', '/admin/mappings'),
  // API Gateway matches a route's path exactly: another case or a trailing slash is another path (the catch-all's 404).
  ...[['POST', '/Credentials'], ['GET', '/CREDENTIALS'], ['POST', '/credentials/'], ['GET', '/credentials/'], ['GET', '/Healthz'], ['GET', '/healthz/']]
    .map(([m, p]) => notFound(m, p)),

  // Valid tokens without a grant: 403, each audited
  denied('a token for another project', R.noMapping('acme/payments/web'), k => k.mint({ project_path: 'acme/payments/web', project_id: '99' })),
  denied('the mapped path with another project_id (a re-created or squatted project)', R.requires('pin.project_id to be "4301877"; this token has "5550001"'),
    k => k.mint({ project_id: '5550001' })),
  denied('a sibling group whose name extends the mapped one', R.noMapping('acme/payments-evil/api'), k => k.mint({ project_path: 'acme/payments-evil/api', namespace_path: 'acme/payments-evil' })),
  denied('an unprotected ref under the default', R.unprotected, k => k.mint({ ref_protected: 'false' })),
  // A fork's merge-request pipeline runs on an unprotected ref: the default refuses it, whatever its ref is named.
  denied('a fork merge-request pipeline', R.unprotected, k => k.mint({
    ref: 'main', ref_type: 'branch', ref_path: 'refs/merge-requests/42/head', ref_protected: 'false',
    pipeline_source: 'merge_request_event', source_project_id: '6660001', source_project_path: 'mallory/api',
  })),
  denied('another ref', R.requires('ref to be "main"; this token has "develop"'), k => k.mint({ ref: 'develop' })),
  denied('a role with no mapping', k => begins(`No mapping lets ${k.issuer}/acme/payments/api use the role "admin". Roles mapped for this project: "deploy".`), k => k.mint(), 'role=admin'),
  denied('a project at GitLab\'s deepest (22 segments) with no mapping', R.noMapping(path(22)), k => k.mint({ ...deep(22), project_id: '7' })),
  denied('a disabled mapping', k => begins(`The mapping ${k.issuer}/acme/payments/api for the role "disabled" is disabled (enabled: false)`), k => k.mint(), 'role=disabled'),

  // In format=shell, every error is the script that stops `eval`
  { ...unauthorized('an expired token, format=shell', 'expired', R.expired, k => k.mint({}, { iat: k.now - 3600 })), shell: true },
  { ...badRequest('role with a shell injection, format=shell', R.roleName, k => ({ token: k.good, query: `role=${encodeURIComponent('$(id)')}` })), shell: true },
  { ...tooLarge('a 9000-byte token, format=shell', R.tokenSize, bearer('a'.repeat(9000))), shell: true },
  { ...denied('an unprotected ref, format=shell', R.unprotected, k => k.mint({ ref_protected: 'false' })), shell: true },
]

/** The message of an error script: `printf '%s\n' 'tanuki-sts: CODE: MESSAGE (request ID)' >&2`, its quoting undone. */
function scriptMessage (text: string): string {
  const quoted = /^printf '%s\\n' '(.*)' >&2\nexit 1\n$/s.exec(text)?.[1] ?? ''
  return quoted.replace(/'\\''/g, '\'').replace(/^tanuki-sts: [a-z_]+: /, '').replace(/ \(request [^)]*\)$/, '')
}

function checkAnswer (t: test.Test, k: Kit, c: Case, r: Answer): void {
  const stack = /\n\s+at \S|node_modules|\.ts:\d+|\.js:\d+/
  const rule = typeof c.rule === 'function' ? c.rule(k) : c.rule
  t.equal(r.status, c.status, `${c.name}: ${c.status}`)
  t.notOk(stack.test(r.text), `${c.name}: no stack trace`)
  if (c.shell) {
    t.match(r.text, /^printf '%s\\n' '.*' >&2\nexit 1\n$/s, `${c.name}: the error script`)
    t.match(scriptMessage(r.text), rule, `${c.name}: refused by the rule its message names`)
    const run = spawnSync('bash', ['-c', 'eval "$1"; echo ran-on', 'bash', r.text], { encoding: 'utf8' })
    t.ok(run.status !== 0 && !run.stdout.includes('ran-on') && run.stderr.startsWith(`tanuki-sts: ${c.code}: `), `${c.name}: eval stops with "${c.code}" on stderr`)
    return
  }
  t.equal(r.body.error, c.code, `${c.name}: ${c.code}`)
  t.match(String(r.body.message), rule, `${c.name}: refused by the rule its message names`)
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
  for (const m of mappings()) await env.putMapping(m)
  t.ok(env.url, `broker running at ${env.url}`)
})

test('control: the unchanged token is issued', async t => {
  const r = await call(env, witness, { token: await env.mint() })
  t.equal(r.status, 200, 'a valid token for the mapped project and ref gets credentials')
  t.equal(env.sts.calls.AssumeRole, 1, 'through one AssumeRole')
  await fresh(env, witness, ...mappings())
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
  CASES.forEach((c, i) => checkAnswer(t, kit, c, answers[i]))
  t.equal(answers.filter(a => a.status >= 500).length, 0, 'no case was answered 5xx')

  t.equal(env.sts.calls.AssumeRole, 0, 'the local STS recorded zero AssumeRole calls')
  t.equal(env.issuer.stats.elsewhere, 0, 'no jku, x5u or other URL from a token was fetched')
  const records = await env.auditRecords()
  witness.auditRecords.push(...records)
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
  witness.check(t, env.logs)
})

test('Teardown', async t => {
  await env.stop()
  t.pass('sandbox, issuer and STS stopped')
})
