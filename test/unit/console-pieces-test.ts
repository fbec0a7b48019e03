// Spec for the console's small guards, each on its own: HTML escaping, return_to, the session's shape and lifetime,
// CSRF tokens, who may view or edit, the configuration, the per-day counts. The sign-in flow is console-sign-in-test.ts's.
import fc from 'fast-check'
import test from 'tape'
import { http } from '@architect/functions'
import { configuredGroups, parseMembers, roleOf } from '../../src/console/access'
import { dailyCounts } from '../../src/console/chart'
import { loadConsoleConfig } from '../../src/console/config'
import { consoleHref, escapeHtml, html } from '../../src/console/html'
import { HOME, safeReturnTo } from '../../src/console/return-to'
import { SESSION_SECONDS, csrfMatches, readSession, signedIn, signingIn } from '../../src/console/session'
import { signInClaimsReader } from '../../src/console/sign-in'

const runs = Number(process.env.FC_RUNS ?? 300)
const NOW = new Date('2026-11-26T12:00:00.000Z')
const SECRET = 'a'.repeat(44)
const ENV = {
  BROKER_ISSUERS: 'https://gitlab.example.com', BROKER_AUDIENCE: 'https://sts.example.com', BROKER_TABLE_MAPPINGS: 'm', BROKER_TABLE_AUDIT: 'a', BROKER_TABLE_ISSUER_KEYS: 'k',
  CONSOLE_CLIENT_ID: 'app-id', CONSOLE_CLIENT_SECRET: 'app-secret', ARC_APP_SECRET: SECRET, CONSOLE_EDITORS: 'group:acme/platform user:ada.lovelace', CONSOLE_VIEWERS: 'group:acme/security',
}

test('html: every value is text, whatever it holds', t => {
  const evil = '<script>alert("x")</script>\'&'
  t.equal(html`<p title="${evil}">${evil}</p>`.text, '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;</p>', 'in text and in attributes')
  t.equal(html`<ul>${['<a>', html`<li>ok</li>`]}</ul>`.text, '<ul>&lt;a&gt;<li>ok</li></ul>', 'lists of text and Html')
  t.equal(html`${undefined}${null}${false}${0}`.text, '0', 'nothing for absent values; numbers as text')
  t.throws(() => html`${{} as never}`, /cannot insert a object/, 'an object is refused, never printed as [object Object]')
  t.equal(consoleHref('/console/mapping', { scope: 'https://x/a&b', role: 'd e', empty: '' }), '/console/mapping?scope=https%3A%2F%2Fx%2Fa%26b&role=d+e', 'hrefs encode their query')
  fc.assert(fc.property(fc.string(), s => !/[<>"']/.test(escapeHtml(s)) && !/&(?!amp;|lt;|gt;|quot;|#39;)/.test(escapeHtml(s))), { numRuns: runs })
  t.pass('property: an escaped string has no < > " \' and no & but its own entities')
  t.end()
})

test('return_to: the console\'s own pages only', t => {
  t.equal(safeReturnTo('/console/audit?project=acme%2Fapi&days=7'), '/console/audit?project=acme%2Fapi&days=7', 'a console page and its query')
  t.equal(safeReturnTo('/console'), '/console', 'the console itself')
  for (const bad of ['https://evil.example', '//evil.example', '/\\evil.example', '\\\\evil', '/console/../x', '/console/%2e%2e/x', '/console/./x', '/consolex',
    '/console/a//b', '/console\t/x', '/console/x#y', 'javascript:alert(1)', '/console/sign-in', '/console/oauth/callback', undefined, 42, '']) {
    t.equal(safeReturnTo(bad), HOME, `${JSON.stringify(bad)} goes home`)
  }
  fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.string().map(s => `/console${s}`), fc.string().map(s => `/console/${s}`)), value => {
    const back = safeReturnTo(value)
    const url = new URL(back, 'https://sts.example.com')
    return url.origin === 'https://sts.example.com' && /^\/console(\/|$)/.test(url.pathname) && `${url.pathname}${url.search}` === back
  }), { numRuns: runs * 3 })
  t.pass('property: whatever is asked, the redirect stays on the console\'s origin, under /console, as written')
  t.end()
})

test('session: only a well-formed, unexpired session is one', t => {
  const user = { sub: '1', login: 'ada', groups: ['acme/platform'] }
  const session = signedIn(user, NOW)
  t.equal(session.exp - session.signedInAt, SESSION_SECONDS, 'a sign-in lasts 8 hours')
  t.equal(SESSION_SECONDS, 28800, '8 hours is 28800 seconds')
  const raw = JSON.parse(JSON.stringify(session)) as Record<string, unknown>
  t.deepEqual(readSession(raw, NOW), session, 'read back as written')
  t.equal(readSession(raw, new Date(NOW.getTime() + SESSION_SECONDS * 1000)).kind, 'none', 'not after 8 hours')
  t.equal(readSession({ ...raw, exp: session.signedInAt + SESSION_SECONDS + 1 }, NOW).kind, 'none', 'a session claiming more than 8 hours is none')
  t.equal(readSession({ ...raw, csrf: 'short' }, NOW).kind, 'none', 'a malformed CSRF token: none')
  t.equal(readSession({ ...raw, user: { ...user, groups: 'acme' } }, NOW).kind, 'none', 'groups that are not a list: none')
  t.equal(readSession({ ...raw, kind: 'admin' }, NOW).kind, 'none', 'an unknown kind: none')
  t.equal(readSession({}, NOW).kind, 'none', 'an empty cookie: none')
  t.equal(readSession(undefined, NOW).kind, 'none', 'no cookie: none')
  const pending = signingIn('/console/audit', NOW)
  t.equal(readSession(JSON.parse(JSON.stringify(pending)), new Date(NOW.getTime() + 601_000)).kind, 'none', 'a sign-in in progress lasts 10 minutes')
  t.notEqual(signedIn(user, NOW).csrf, session.csrf, 'every sign-in gets its own CSRF token')
  t.ok(csrfMatches(session, session.csrf), 'its own token matches')
  t.notOk(csrfMatches(session, signedIn(user, NOW).csrf), 'another session\'s does not')
  t.notOk(csrfMatches(session, [session.csrf]), 'nor a list holding it')
  t.notOk(csrfMatches(session, undefined), 'nor nothing')
  t.end()
})

test('session cookie: HttpOnly, SameSite=Lax, 8 hours, and Secure in a deployed stack', async t => {
  const saved = { ...process.env }
  Object.assign(process.env, { ARC_APP_SECRET: SECRET, ARC_SESSION_TABLE_NAME: 'jwe' })
  try {
    process.env.ARC_ENV = 'production'
    const deployed = await http.session.write({ kind: 'none' })
    t.match(deployed, /; Secure/, 'Secure when ARC_ENV is production')
    t.match(deployed, /HttpOnly/, 'HttpOnly')
    t.match(deployed, /SameSite=Lax/i, 'SameSite=Lax')
    t.match(deployed, /Max-Age=28800/, 'Max-Age 8 hours')
    process.env.ARC_ENV = 'testing'
    t.notOk(/Secure/.test(await http.session.write({ kind: 'none' })), 'not Secure in a local sandbox (plain http)')
  }
  finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
})

test('access: viewers and editors by group path or login, nobody by default', t => {
  const access = { viewers: parseMembers('CONSOLE_VIEWERS', 'group:acme/security'), editors: parseMembers('CONSOLE_EDITORS', 'group:Acme/Platform, user:ada.lovelace') }
  t.equal(roleOf({ login: 'bob', groups: ['acme/platform'] }, access), 'editor', 'a member of an editors group edits (paths compare without case)')
  t.equal(roleOf({ login: 'Ada.Lovelace', groups: [] }, access), 'editor', 'an editor by login')
  t.equal(roleOf({ login: 'eve', groups: ['acme/security'] }, access), 'viewer', 'a member of a viewers group views')
  t.equal(roleOf({ login: 'mallory', groups: ['acme', 'acme/platform-x', 'acme/security/sub'] }, access), undefined, 'a parent group, a look-alike or a subgroup is not the group')
  const nobody = { viewers: parseMembers('CONSOLE_VIEWERS', undefined), editors: parseMembers('CONSOLE_EDITORS', '') }
  t.equal(roleOf({ login: 'ada.lovelace', groups: ['acme/platform'] }, nobody), undefined, 'nobody by default')
  t.deepEqual(configuredGroups(['acme/platform', 'other', 'ACME/security'], access), ['acme/platform', 'acme/security'], 'a session keeps only the configured groups')
  t.throws(() => parseMembers('CONSOLE_VIEWERS', 'acme/security'), /CONSOLE_VIEWERS has "acme\/security": write each entry as group:GROUP\/PATH or user:LOGIN/, 'an entry without its kind names the variable')
  t.throws(() => parseMembers('CONSOLE_EDITORS', 'group:acme/../x'), /CONSOLE_EDITORS/, 'a path GitLab would not have is refused')
  t.end()
})

test('config: the console needs its OAuth application, a session key, and an https URL when deployed', t => {
  const c = loadConsoleConfig(ENV)
  t.equal(c.url, 'https://sts.example.com/console', 'the console URL defaults to the broker\'s audience + /console')
  t.equal(c.redirectUri, 'https://sts.example.com/console/oauth/callback', 'the redirect URI to register in GitLab')
  t.equal(c.issuer, 'https://gitlab.example.com', 'the one trusted issuer')
  const errorOf = (env: Record<string, string | undefined>) => { try { loadConsoleConfig(env); return 'ok' } catch (e) { return (e as Error).message } }
  const cases: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['no client secret', { ...ENV, CONSOLE_CLIENT_SECRET: undefined }, /^CONSOLE_CLIENT_SECRET is required/],
    ['no session key (arc would use a known one)', { ...ENV, ARC_APP_SECRET: undefined }, /^ARC_APP_SECRET must be at least 32/],
    ['a short session key', { ...ENV, ARC_APP_SECRET: 'x'.repeat(31) }, /^ARC_APP_SECRET/],
    ['sessions in a table', { ...ENV, ARC_SESSION_TABLE_NAME: 'sessions' }, /^ARC_SESSION_TABLE_NAME must be jwe/],
    ['an http console in production', { ...ENV, ARC_ENV: 'production', BROKER_EVENTS_TOPIC: 'x', CONSOLE_URL: 'http://sts.example.com/console' }, /^CONSOLE_URL must be https/],
    ['a console elsewhere than /console', { ...ENV, CONSOLE_URL: 'https://sts.example.com/admin' }, /^CONSOLE_URL must be the console's address/],
    ['an issuer the broker does not trust', { ...ENV, CONSOLE_ISSUER: 'https://gitlab.com' }, /^CONSOLE_ISSUER is "https:\/\/gitlab.com", which is not one of BROKER_ISSUERS/],
    ['several issuers, none named', { ...ENV, BROKER_ISSUERS: 'https://gitlab.example.com,https://gitlab.com' }, /^CONSOLE_ISSUER is required/],
    ['a viewer entry without its kind', { ...ENV, CONSOLE_VIEWERS: 'ada' }, /^CONSOLE_VIEWERS has "ada"/],
  ]
  for (const [name, env, want] of cases) t.match(errorOf(env), want, `${name}: ${errorOf(env)}`)
  t.end()
})

test('chart: issued and denied per UTC day, every day of the window present', t => {
  const since = new Date('2026-11-24T15:00:00Z')
  const days = dailyCounts([
    { at: '2026-11-24T16:00:00.000Z', outcome: 'issued' }, { at: '2026-11-26T01:00:00.000Z', outcome: 'denied' },
    { at: '2026-11-26T02:00:00.000Z', outcome: 'issued' }, { at: '2026-11-26T03:00:00.000Z', outcome: 'failed' }, { at: '2026-11-20T00:00:00.000Z', outcome: 'issued' },
  ], since, NOW)
  t.deepEqual(days, [
    { day: '2026-11-24', issued: 1, denied: 0 }, { day: '2026-11-25', issued: 0, denied: 0 }, { day: '2026-11-26', issued: 1, denied: 1 },
  ], 'a quiet day is a zero; failed counts as neither; a record outside the window is left out')
  t.end()
})

test('sign-in claims: GitLab\'s OIDC ID token, for this application only', t => {
  const read = signInClaimsReader('app-id')
  const base = { sub: '1001', aud: 'app-id', nonce: 'n', preferred_username: 'ada.lovelace', nickname: 'ada', name: 'Ada', groups_direct: ['acme/platform'] }
  t.deepEqual(read(base), { sub: '1001', login: 'ada.lovelace', groups_direct: ['acme/platform'], nonce: 'n', name: 'Ada' }, 'login from preferred_username, groups from groups_direct')
  t.equal(read({ ...base, preferred_username: undefined }).login, 'ada', 'or from nickname')
  const refused = (payload: Record<string, unknown>) => { try { read(payload); return 'read' } catch (e) { return (e as Error).message } }
  t.match(refused({ ...base, aud: ['app-id', 'other'] }), /several audiences and is not authorized for this console \(azp\)/, 'several audiences without azp = this application: refused')
  t.equal(refused({ ...base, aud: ['app-id', 'other'], azp: 'app-id' }), 'read', 'with azp naming it: read')
  t.match(refused({ ...base, preferred_username: '<b>x</b>', nickname: undefined }), /no GitLab username/, 'a login GitLab would not have: refused')
  t.match(refused({ ...base, groups_direct: 'acme' }), /must be a list of group paths/, 'groups that are not a list: refused')
  t.match(refused({ ...base, sub: '' }), /no "sub"/, 'no sub: refused')
  t.end()
})
