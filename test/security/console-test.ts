// The web console under attack, against the running broker (sandbox: the console's own Lambdas, arc's session cookie,
// the local issuer's GitLab sign-in). Each test names the guard it proves: without that guard, the test fails.
import test from 'tape'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { createMappingAdmin } from '../../src/broker/mappings'
import { MAX_BODY_BYTES } from '../../src/console/request'
import { seedAuditRecord } from '../helpers/audit-seed'
import { ROLE_ARN, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { ConsoleClient, csrfOf } from '../helpers/console-client'
import { Witness } from './helpers/witness'

let env: BrokerEnv
const witness = new Witness()
let scope: string
const MARKUP = '<script>alert("ref")</script><img src=x onerror=alert(1)>'
const mappingYaml = (s: string, description: string) => `mappings:\n  - scope: ${s}\n    role: deploy\n    roleArn: ${ROLE_ARN}\n    pin: { project_id: "4301877" }\n    conditions:\n      ref: main\n      ref_type: branch\n    description: ${description}\n`

async function as (login: string): Promise<ConsoleClient> {
  const client = new ConsoleClient(env.url)
  const landed = await client.signIn(login)
  if (landed.status !== 200 && landed.status !== 403) throw new Error(`signing in as ${login} landed on ${landed.status}`)
  if (client.cookie) witness.secrets.add(client.cookie.slice('_idx='.length))
  return client
}

async function stored (): Promise<Record<string, unknown> | undefined> {
  return (await createMappingAdmin(env.db, env.tables.mappings).read(scope, 'deploy'))?.item
}

/** The save form's fields for the stored mapping (version as read), with a new description: what an editor's browser would post. */
async function saveForm (client: ConsoleClient, description: string): Promise<Record<string, string>> {
  const edit = await client.get(`/console/mappings/edit?scope=${encodeURIComponent(scope)}&role=deploy`)
  const expected = /name="expected" value="([^"]+)"/.exec(edit.text)?.[1] ?? ''
  return { csrf: csrfOf(edit.text), expected, yaml: mappingYaml(scope, description) }
}

test('Set up env', async t => {
  env = await startBrokerEnv()
  scope = `${env.issuer.url}/acme/payments/api`
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main', ref_type: 'branch' }, description: 'seeded', updatedAt: '2026-01-01T00:00:00.000Z' })
  await env.putMapping({ scope: `${env.issuer.url}/acme/web`, role: 'markup', roleArn: ROLE_ARN, pin: { project_id: '77' }, conditions: { ref: MARKUP } })
  t.pass(`the broker and its console run at ${env.url}/console`)
})

test('sign-in: a user in a configured group lands signed in, with an HttpOnly, SameSite=Lax session of 8 hours', async t => {
  const client = new ConsoleClient(env.url)
  const start = await client.get('/console/sign-in')
  const cookie = start.headers.get('set-cookie') ?? ''
  const authorize = new URL(start.location ?? '')
  t.match(cookie, /HttpOnly/, 'the session cookie is HttpOnly')
  t.match(cookie, /SameSite=Lax/i, 'and SameSite=Lax (the redirect back from GitLab is a cross-site navigation)')
  t.match(cookie, /Max-Age=28800/, 'and lives 8 hours at most')
  t.notOk(/Secure/.test(cookie), 'not Secure here: a local sandbox is plain http (a deployed stack\'s is; see the unit tests)')
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'PKCE with S256')
  t.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'), 'with a state and a nonce')
  t.notOk(authorize.href.includes(env.lambdaEnv.CONSOLE_CLIENT_SECRET), 'the client secret is not in the URL')
  const landed = await client.follow(await client.get((await client.pickUser(await client.startSignIn('/console/audit'), 'local-admin')).href))
  t.equal(landed.status, 200, 'signed in')
  t.match(landed.url, /\/console\/audit$/, 'back on the page asked for (return_to)')
  t.match(landed.text, /Signed in as <strong>local-admin<\/strong> <span class="badge">editor<\/span>/, 'as local-admin, an editor (group tanuki-sts/admins)')
})

test('guard: a Content-Security-Policy with no inline script, on every page', async t => {
  const admin = await as('local-admin')
  const pages = ['/console/mappings', `/console/mappings?project=acme/payments/api`, `/console/mapping?scope=${encodeURIComponent(scope)}&role=deploy`,
    '/console/explain', '/console/audit', `/console/mappings/edit?scope=${encodeURIComponent(scope)}&role=deploy`, '/console/mappings/new', '/console/signed-out']
  for (const path of pages) {
    const page = await admin.get(path)
    const csp = page.headers.get('content-security-policy') ?? ''
    t.match(csp, /(^|; )script-src 'self'(;|$)/, `${path}: scripts only from the console's own files`)
    t.notOk(/unsafe-inline|unsafe-eval|data:/.test(csp), `${path}: no unsafe-inline, unsafe-eval or data: anywhere in the policy`)
    t.match(csp, /frame-ancestors 'none'/, `${path}: not framed`)
    const inline = [...page.text.matchAll(/<script\b([^>]*)>/g)].filter(m => !/\bsrc="\/console\/assets\/console\.js"/.test(m[1]))
    t.equal(inline.length, 0, `${path}: no inline <script>`)
    // In the markup itself: a ref shown as text may spell " onerror=" harmlessly, escaped.
    const tags = page.text.match(/<[a-zA-Z][^>]*>/g) ?? []
    t.notOk(tags.some(tag => /\son[a-z]+\s*=|\sstyle\s*=|javascript:/i.test(tag)), `${path}: no event-handler or style attributes, no javascript: URLs in its ${tags.length} tags`)
  }
  const script = await admin.get('/console/assets/console.js')
  t.equal(script.status, 200, 'the script is a file of the console')
  t.match(script.headers.get('content-type') ?? '', /^text\/javascript/, 'served as JavaScript (nosniff is set)')
})

test('guard: a CSRF token on every change', async t => {
  const admin = await as('local-admin')
  const form = await saveForm(admin, 'changed without a token')
  const posts: Array<[string, Record<string, string>]> = [
    ['/console/mappings/save', form], ['/console/mappings/plan', form], ['/console/explain', { role: 'deploy', claims: '{}' }], ['/console/sign-out', {}],
  ]
  for (const [path, fields] of posts) {
    const { csrf: _csrf, ...without } = fields as Record<string, string>
    const none = await admin.post(path, without)
    t.equal(none.status, 403, `${path} without the CSRF token: 403`)
    const forged = await admin.post(path, { ...without, csrf: 'A'.repeat(43) })
    t.equal(forged.status, 403, `${path} with a made-up CSRF token: 403`)
  }
  t.equal((await stored())?.description, 'seeded', 'the mapping is unchanged')
  t.equal((await admin.get('/console/mappings')).status, 200, 'and the session was not signed out by the forged sign-out')
  const crossSite = await admin.post('/console/mappings/save', form, { origin: 'https://evil.example' })
  t.equal(crossSite.status, 403, 'a form posted from another origin is refused even with the token')
  t.equal((await stored())?.description, 'seeded', 'still unchanged')
})

test('guard: the CSRF token is bound to the session of the user who signed in', async t => {
  const admin = await as('local-admin')
  const other = await as('local-admin')
  const form = await saveForm(admin, 'with another session\'s token')
  const theirs = await other.post('/console/mappings/save', form)
  t.equal(theirs.status, 403, 'another session (even of the same user) cannot use this session\'s token')
  t.equal((await stored())?.description, 'seeded', 'nothing was written')
  const mine = await admin.post('/console/mappings/save', form)
  t.equal(mine.status, 303, 'the session it belongs to can')
  t.equal((await stored())?.updatedBy, 'local-admin', 'updatedBy is the GitLab login of the session')
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main', ref_type: 'branch' }, description: 'seeded', updatedAt: '2026-01-01T00:00:01.000Z' })
})

test('guard: the session cookie is the signed-in user\'s and cannot be altered or forged', async t => {
  const admin = await as('local-admin')
  const cookie = admin.cookie ?? ''
  const value = cookie.slice('_idx='.length)
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  for (const [name, altered] of [['a changed ciphertext byte', flip(value, value.length - 30)], ['a changed tag byte', flip(value, value.length - 2)], ['a cookie from elsewhere', 'eyJhbGciOiJub25lIn0.eyJraW5kIjoidXNlciJ9.']]) {
    const client = new ConsoleClient(env.url)
    client.cookie = `_idx=${altered}`
    const page = await client.get('/console/mappings')
    t.equal(page.status, 302, `${name}: not signed in`)
    t.match(page.location ?? '', /\/console\/sign-in\?return_to=/, `${name}: sent to sign in`)
  }
  const signingIn = new ConsoleClient(env.url)
  await signingIn.startSignIn()
  t.equal((await signingIn.get('/console/mappings')).status, 302, 'a sign-in in progress is not a session')
  const renamed = await admin.post('/console/mappings/save', { ...await saveForm(admin, 'x'), yaml: `${mappingYaml(scope, 'x')}    updatedBy: mallory\n` })
  t.equal(renamed.status, 400, 'a change cannot name its own author: updatedBy in the mapping is refused')
  t.match(renamed.text, /updatedBy is set by tanuki-sts on every write/, 'with the CLI\'s words')
})

test('guard: return_to leads only to the console\'s own pages', async t => {
  const bad = ['https://evil.example/', '//evil.example/console', '/\\evil.example', '/console/../credentials', '/console/%2e%2e/credentials',
    '/consolex', 'javascript:alert(1)', '/console//evil.example', ' /console/audit', '/console/audit#x', '/console/oauth/callback?code=x&state=y']
  for (const returnTo of bad) {
    const client = new ConsoleClient(env.url)
    const back = await client.pickUser(await client.startSignIn(returnTo), 'local-viewer')
    const callback = await client.get(back.href)
    t.equal(callback.location, `${env.url}/console/mappings`, `return_to ${JSON.stringify(returnTo)}: back to /console/mappings`)
  }
  const client = new ConsoleClient(env.url)
  const back = await client.pickUser(await client.startSignIn('/console/mapping?scope=x&role=deploy'), 'local-viewer')
  t.equal((await client.get(back.href)).location, `${env.url}/console/mapping?scope=x&role=deploy`, 'a console page with its query is kept')
})

test('guard: forged or replayed state and code are refused', async t => {
  const token = () => env.issuer.oauth.stats.token
  // A forged state, with a real code of this browser's own sign-in: the state is checked before the code is redeemed.
  const victim = new ConsoleClient(env.url)
  const back = await victim.pickUser(await victim.startSignIn(), 'local-admin')
  const before = token()
  const forged = new URL(back)
  forged.searchParams.set('state', 'A'.repeat(43))
  const refused = await victim.get(forged.href)
  t.equal(refused.status, 400, 'a forged state: 400')
  t.match(refused.text, /not meant for this browser/, 'said in words')
  t.equal(token(), before, 'and the code was never sent to GitLab')
  t.equal((await victim.get('/console/mappings')).status, 302, 'not signed in')
  // No sign-in in progress: a callback someone else's browser started (login CSRF) is refused.
  const stranger = new ConsoleClient(env.url)
  const foreign = await stranger.get(back.href)
  t.equal(foreign.status, 400, 'a callback in a browser that started no sign-in: 400')
  t.equal((await stranger.get('/console/mappings')).status, 302, 'no session from it')
  // Replay: the same callback (code and state) again, with the signing-in cookie as it was.
  const first = new ConsoleClient(env.url)
  const answer = await first.pickUser(await first.startSignIn(), 'local-admin')
  const signingInCookie = first.cookie
  t.equal((await first.get(answer.href)).status, 302, 'the callback signs in once')
  const replay = new ConsoleClient(env.url)
  replay.cookie = signingInCookie
  const again = await replay.get(answer.href)
  t.equal(again.status, 400, 'the same code again: 400 (GitLab redeems a code once)')
  t.equal((await replay.get('/console/mappings')).status, 302, 'no session from the replay')
  const afterSignIn = await first.get(answer.href)
  t.equal(afterSignIn.status, 400, 'the callback again in the signed-in browser: 400 (its sign-in is over)')
  // A code injected from another sign-in (the attacker's own), with this browser's state: PKCE ties a code to its verifier.
  const attacker = new ConsoleClient(env.url)
  const attackersCode = (await attacker.pickUser(await attacker.startSignIn(), 'local-outsider')).searchParams.get('code') ?? ''
  const target = new ConsoleClient(env.url)
  const targetBack = await target.pickUser(await target.startSignIn(), 'local-viewer')
  const injected = new URL(targetBack)
  injected.searchParams.set('code', attackersCode)
  t.equal((await target.get(injected.href)).status, 400, 'another sign-in\'s code with this browser\'s state: 400 (PKCE)')
  t.equal((await target.get('/console/mappings')).status, 302, 'not signed in, neither as the attacker nor as anyone')
  // An ID token for another sign-in (its nonce), or a userinfo answer about another user.
  for (const mode of ['wrong-nonce', 'wrong-userinfo-sub'] as const) {
    env.issuer.oauth.setMode(mode)
    const client = new ConsoleClient(env.url)
    const page = await client.get((await client.pickUser(await client.startSignIn(), 'local-admin')).href)
    env.issuer.oauth.setMode('normal')
    t.equal(page.status, 400, `the issuer answers ${mode}: 400`)
    t.equal((await client.get('/console/mappings')).status, 302, `${mode}: not signed in`)
  }
  const reasons = env.logs.filter(l => l.includes('console sign-in refused')).map(l => (JSON.parse(l) as { reason: string }).reason)
  for (const reason of ['state_mismatch', 'no_sign_in', 'code_refused', 'nonce_mismatch', 'userinfo_failed']) t.ok(reasons.includes(reason), `the log names the refusal: ${reason}`)
})

test('guard: a signed-in user outside every configured group may do nothing', async t => {
  const outsider = await as('local-outsider')
  for (const path of ['/console/mappings', '/console/explain', '/console/audit', `/console/mapping?scope=${encodeURIComponent(scope)}&role=deploy`, '/console/mappings/new']) {
    const page = await outsider.get(path)
    t.equal(page.status, 403, `GET ${path}: 403`)
    t.notOk(page.text.includes(ROLE_ARN), `GET ${path}: no mapping shown`)
  }
  const csrf = csrfOf((await outsider.get('/console/mappings')).text)
  const explain = await outsider.post('/console/explain', { csrf, role: 'deploy', claims: '{}' })
  t.equal(explain.status, 403, 'POST /console/explain: 403')
  const save = await outsider.post('/console/mappings/save', { csrf, expected: 'v:2026-01-01T00:00:01.000Z', yaml: mappingYaml(scope, 'outsider') })
  t.equal(save.status, 403, 'POST /console/mappings/save: 403')
  t.equal((await stored())?.description, 'seeded', 'nothing was written')
  t.match((await outsider.get('/console/mappings')).text, /lets you neither view nor edit/, 'the page says why, and whom to ask')
})

test('guard: a viewer cannot edit, whatever the page shows', async t => {
  const viewer = await as('local-viewer')
  const page = await viewer.get(`/console/mapping?scope=${encodeURIComponent(scope)}&role=deploy`)
  t.equal(page.status, 200, 'a viewer sees the mapping')
  t.notOk(page.text.includes('/console/mappings/edit'), 'with no edit link')
  t.equal((await viewer.get(`/console/mappings/edit?scope=${encodeURIComponent(scope)}&role=deploy`)).status, 403, 'GET the edit page: 403')
  const csrf = csrfOf(page.text)
  const fields = { csrf, expected: 'v:2026-01-01T00:00:01.000Z', yaml: mappingYaml(scope, 'by a viewer') }
  t.equal((await viewer.post('/console/mappings/plan', fields)).status, 403, 'POST the plan: 403')
  t.equal((await viewer.post('/console/mappings/save', fields)).status, 403, 'POST the save, with a valid CSRF token and version: 403')
  t.equal((await stored())?.description, 'seeded', 'nothing was written')
})

test('guard: claims are shown as text; a ref holding markup stays text', async t => {
  const viewer = await as('local-viewer')
  const escaped = '&lt;script&gt;alert(&quot;ref&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'
  const list = await viewer.get('/console/mappings?project=acme/web')
  t.ok(list.text.includes(escaped), 'the mappings page shows the ref escaped')
  t.notOk(list.text.includes(MARKUP), 'and never as markup')
  const one = await viewer.get(`/console/mapping?scope=${encodeURIComponent(`${env.issuer.url}/acme/web`)}&role=markup`)
  t.ok(one.text.includes(escaped) && !one.text.includes(MARKUP), 'the mapping page too')
  // A real job token whose ref holds markup: Explain shows it, and the broker's denial of it lands in the audit.
  const jobToken = witness.token(await env.mint({ ref: MARKUP }))
  const csrf = csrfOf(one.text)
  const explained = await viewer.post('/console/explain', { csrf, role: 'deploy', token: jobToken })
  t.equal(explained.status, 200, 'Explain answers')
  t.match(explained.text, /DENIED \(403 access_denied\)/, 'with the broker\'s verdict')
  t.ok(explained.text.includes('&lt;script&gt;') && !explained.text.includes(MARKUP), 'the ref escaped in the explanation')
  const claims = await viewer.post('/console/explain', { csrf, role: 'deploy', claims: Buffer.from(jobToken.split('.')[1], 'base64url').toString() })
  t.ok(claims.text.includes('&lt;script&gt;') && !claims.text.includes(MARKUP), 'and in claims pasted as JSON')
  const denied = await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${jobToken}` } })
  t.equal(denied.status, 403, 'the broker denies that job (and audits it)')
  const audit = await viewer.get('/console/audit?outcome=denied&days=1')
  t.ok(audit.text.includes('&lt;script&gt;') && !audit.text.includes(MARKUP), 'the audit page shows the ref escaped')
})

test('guard: no token in any URL; a pasted token is never shown back, stored or logged', async t => {
  const viewer = await as('local-viewer')
  const jobToken = witness.token(await env.mint({}))
  const form = await viewer.get('/console/explain')
  t.match(form.text, /<form method="post" action="\/console\/explain"/, 'the Explain form posts (a token never goes in a query string)')
  t.match(form.text, /live credential/, 'and says that tokens are live credentials')
  const viaQuery = await viewer.get(`/console/explain?role=deploy&token=${jobToken}`)
  t.notOk(/Verdict|ALLOWED|DENIED/.test(viaQuery.text), 'a token in the query string is never read')
  t.notOk(viaQuery.text.includes(jobToken), 'nor shown')
  const explained = await viewer.post('/console/explain', { csrf: csrfOf(form.text), role: 'deploy', token: jobToken })
  t.match(explained.text, /ALLOWED \(200\)/, 'the token verified and explained')
  t.notOk(explained.text.includes(jobToken) || explained.text.includes(jobToken.split('.')[2]), 'the answer does not hold the token')
  // Every URL the console sent this browser to, and every link and form on its pages.
  const urls = [...viewer.redirects, ...[explained, form].flatMap(p => [...p.text.matchAll(/(?:href|action|src)="([^"]*)"/g)].map(m => m[1]))]
  t.notOk(urls.some(u => u.includes(jobToken.split('.')[2]) || /token=/.test(u)), `none of the ${urls.length} URLs the console redirected to or linked holds a token`)
  const tooBig = await viewer.post('/console/explain', { csrf: csrfOf(form.text), role: 'deploy', token: 'x'.repeat(MAX_BODY_BYTES) })
  t.equal(tooBig.status, 400, 'a body past the console\'s limit is refused, not read')
  const records = await env.auditRecords()
  t.notOk(JSON.stringify(records).includes(jobToken.split('.')[2]), 'no audit record holds the token')
})

test('the edit plan shows its impact on the last 30 days: what would flip, by project and role with a sample job, and what could not be replayed', async t => {
  const admin = await as('local-admin')
  // Besides the denial of the job whose ref holds markup (above): a job issued on main, and an older denial for maxUses.
  const jobToken = witness.token(await env.mint({ job_id: '8800000001' }))
  const issued = await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${jobToken}` } })
  witness.answer(issued.status, await issued.text())
  await seedAuditRecord(env, 3, { outcome: 'denied', role: 'deploy', condition: 'maxUses', reason: 'used up' })
  const before = await stored()
  const changes = async () => (await env.auditRecords()).filter(r => (r as unknown as Record<string, unknown>).kind === 'mapping-change').length
  const changesBefore = await changes()
  const edit = await admin.get(`/console/mappings/edit?scope=${encodeURIComponent(scope)}&role=deploy`)
  // Only refs that begin with "<script>": main is no longer one, the markup branch now is.
  const yaml = mappingYaml(scope, 'seeded').replace('ref: main', 'ref: "<script>**"')
  const plan = await admin.post('/console/mappings/plan', {
    csrf: csrfOf(edit.text), expected: /name="expected" value="([^"]+)"/.exec(edit.text)?.[1] ?? '', scope, role: 'deploy', yaml,
  })
  const section = plan.text.slice(plan.text.indexOf('<section aria-labelledby="impact-heading">'))
  /** A table's rows, each as its cells' text (tags dropped, entities kept: what the page says, as escaped). */
  const rows = (id: string) => [...(new RegExp(`<table id="${id}"[\\s\\S]*?</table>`).exec(section)?.[0] ?? '').matchAll(/<tr><td>([\s\S]*?)<\/tr>/g)]
    .map(m => [...`<td>${m[1]}`.matchAll(/<td>([\s\S]*?)<\/td>/g)].map(c => c[1].replace(/<[^>]+>/g, '').replace(/\s+/g, ' ')).join(' | '))
  const escapedMarkup = '&lt;script&gt;alert(&quot;ref&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;'
  t.equal(plan.status, 200, 'the plan: 200')
  t.match(section, /<h2 id="impact-heading">Impact over the last 30 days<\/h2>/, 'with an impact section under it')
  t.ok(section.includes('<p id="impact-summary">3 requests for the role &quot;deploy&quot; from the projects this scope covers, replayed against the table&#39;s mappings ' +
    'and the planned ones: 2 decisions would flip (1 issued → denied, 1 denied → issued); 0 unchanged; 1 could not be replayed.</p>'),
  'a summary: three requests, one flips each way, one could not be replayed')
  t.match(rows('impact-to-denied').join('\n'), new RegExp('^acme/payments/api \\| deploy \\| 1 request \\(1 job\\) \\| job 8800000001 \\(pipeline \\d+, ref main\\) at [\\d-]+ [\\d:]+Z \\| ' +
    'issued by \\S+/acme/payments/api \\| denied by \\S+/acme/payments/api: ref must be &quot;&lt;script&gt;\\*\\*&quot;, the token had &quot;main&quot;$'),
  'issued → denied: acme/payments/api deploy, with its sample job and the rule that would deny it')
  const toIssued = rows('impact-to-issued')
  t.ok(toIssued.length === 1 && toIssued[0].startsWith('acme/payments/api | deploy | 1 request (1 job) | job ') && toIssued[0].includes(`(pipeline 1504771836, ref ${escapedMarkup}) at `) &&
    toIssued[0].endsWith(`| denied by ${scope}: ref must be &quot;main&quot;, the token had &quot;${escapedMarkup.replace(/&quot;/g, '\\&quot;')}&quot; | issued by ${scope}`),
  'denied → issued: the job on the markup branch, its ref shown as text')
  t.notOk(plan.text.includes(MARKUP), 'the branch name that holds markup is never markup on the page')
  t.ok(section.includes('<li>1 request: denied by maxUses: use counts depend on the token&#39;s earlier requests, which are not replayed\n' +
    '<span class="muted">(acme/payments/api deploy (1))</span></li>'), 'not replayed: counted, with why and where')
  // A new mapping for every project of acme/payments: acme/payments/api's own mapping still decides for it (the most
  // specific scope decides alone), so none of its requests flips. A group's scope reads the period by a Scan.
  const group = `${env.issuer.url}/acme/payments/*`
  const newForm = await admin.get('/console/mappings/new')
  const shadowed = await admin.post('/console/mappings/plan', {
    csrf: csrfOf(newForm.text), expected: 'new',
    yaml: `mappings:\n  - scope: ${group}\n    role: deploy\n    roleArn: ${ROLE_ARN}\n    pin: { namespace_id: "72815" }\n`,
  })
  t.ok(shadowed.text.includes('<p id="impact-summary">3 requests for the role &quot;deploy&quot; from the projects this scope covers, replayed against the table&#39;s mappings ' +
    'and the planned ones: no decision would flip; 2 unchanged; 1 could not be replayed.</p>'), 'a group mapping the project\'s own shadows: no decision flips')
  t.deepEqual(await stored(), before, 'the plans wrote nothing to the mappings table')
  t.equal(await createMappingAdmin(env.db, env.tables.mappings).read(group, 'deploy'), undefined, 'the group mapping was only planned')
  t.equal(await changes(), changesBefore, 'nor a change to the audit')
})

test('a refused concurrent edit: the write is conditional on the version the editor planned from', async t => {
  const admin = await as('local-admin')
  const form = await saveForm(admin, 'mine')
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main', ref_type: 'branch' }, description: 'theirs', updatedAt: '2026-01-02T00:00:00.000Z' })
  const saved = await admin.post('/console/mappings/save', form)
  t.equal(saved.status, 409, 'the save is refused: 409')
  t.match(saved.text, /changed by someone else since you planned/, 'and says so')
  t.equal((await stored())?.description, 'theirs', 'the other change stands')
  const change = (await env.auditRecords()).find(r => (r as unknown as Record<string, unknown>).kind === 'mapping-change' && (r as unknown as Record<string, unknown>).outcome === 'conflict')
  t.ok(change, 'the refused change is in the audit, as a conflict')
})

test('an invalid stored mapping is marked, and still decides (granting nothing, no fallback)', async t => {
  const viewer = await as('local-viewer')
  const invalidScope = `${env.issuer.url}/acme/broken/api`
  await env.db.send(new PutItemCommand({ TableName: env.tables.mappings, Item: marshall({ scope: invalidScope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '5' }, conditions: { reff: 'main' } }) }))
  await env.putMapping({ scope: `${env.issuer.url}/acme/broken/*`, role: 'deploy', roleArn: ROLE_ARN, pin: { namespace_id: '6' } })
  const page = await viewer.get('/console/mappings?project=acme/broken/api')
  t.match(page.text, /<strong class="bad">decides: invalid, grants nothing<\/strong>/, 'the invalid mapping decides for its project, and grants nothing')
  t.match(page.text, /shadowed by <a [^>]*>http:\/\/127\.0\.0\.1:\d+\/acme\/broken\/api<\/a>/, 'the broader one is shadowed by it: no fallback')
  t.match(page.text, /1 invalid mapping: the broker denies every request it decides/, 'the list counts it')
  const one = await viewer.get(`/console/mapping?scope=${encodeURIComponent(invalidScope)}&role=deploy`)
  t.match(one.text, /&quot;reff&quot; is not a GitLab ID-token claim; did you mean &quot;ref&quot;\?/, 'its page says why, in the parser\'s words')
})

test('no secret appears in any log line, error body or audit record', async t => {
  witness.secrets.add(env.lambdaEnv.CONSOLE_CLIENT_SECRET)
  witness.secrets.add(env.lambdaEnv.ARC_APP_SECRET)
  witness.auditRecords.push(...await env.auditRecords())
  witness.check(t, env.logs)
})

test('Teardown', async t => {
  await env.stop()
  t.pass('stopped')
})
