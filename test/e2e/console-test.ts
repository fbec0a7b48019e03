// The console in a real browser: Playwright (playwright-core) drives Debian's Chromium (/usr/bin/chromium; .ci/run
// installs it) against the local broker, as an admin would use it: sign in with (local) GitLab, find what a project
// can get, edit a mapping through its plan (and have a concurrent edit refused), explain a refusal, read the audit
// chart. Every page is checked for labelled fields, keyboard use and Content-Security-Policy violations, and
// screenshots go to test-artifacts/console/ (not committed).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { chromium } from 'playwright-core'
import { CHROMIUM } from '../helpers/e2e-tools'
import type { BrowserContext, Page } from 'playwright-core'
import { ROLE_ARN, ROOT, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'

const ARTIFACTS = join(ROOT, 'test-artifacts', 'console')
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

let env: BrokerEnv
let context: BrowserContext
let page: Page
let profile: string
let scope: string
/** Every Content-Security-Policy violation and script error any page reported. */
const problems: string[] = []

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })

/** What the checks read of an element in the page (the test is compiled without the DOM's types). */
interface Element { textContent: string | null; outerHTML: string; classList: { contains (name: string): boolean }; getAttribute (name: string): string | null; labels?: { length: number } | null }

/** Every visible form field has a label (a <label>, or aria-label): what a screen reader reads out for it. */
async function unlabelled (): Promise<string[]> {
  return page.$$eval('input:not([type=hidden]), select, textarea', (fields: Element[]) => fields
    .filter(f => !f.labels?.length && !f.getAttribute('aria-label'))
    .map(f => f.outerHTML.slice(0, 120)))
}

test('Set up env', async t => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`)
    return
  }
  mkdirSync(ARTIFACTS, { recursive: true })
  env = await startBrokerEnv()
  scope = `${env.issuer.url}/acme/payments/api`
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main', ref_type: 'branch' }, description: 'deploy the payments API', updatedAt: '2026-11-01T09:00:00.000Z', updatedBy: 'ada.lovelace' })
  await env.putMapping({ scope: `${env.issuer.url}/acme/payments/*`, role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/gitlab-payments-any', pin: { namespace_id: '72815' }, description: 'any payments project, shadowed for api' })
  await env.putMapping({ scope: `${env.issuer.url}/acme/**`, role: 'read-only', roleArn: 'arn:aws:iam::111122223333:role/gitlab-readonly', pin: 'none', conditions: { ref_protected: ['true', 'false'] } })
  // Some history for the audit: two issuances and a denial.
  for (const ref of ['main', 'main', 'feature']) {
    await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${await env.mint({ ref })}` } })
  }
  profile = mkdtempSync(join(tmpdir(), 'tanuki-chromium-'))
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1180, height: 760 } })
  page = context.pages()[0] ?? await context.newPage()
  // The console's own: script errors, CSP reports, files that fail to load. (A page answered 409 or 403 on purpose is
  // "a resource that failed" too; and the local issuer's sign-in page has no icon.)
  page.on('console', message => {
    const url = message.location().url
    const document = /^Failed to load resource/.test(message.text()) && !url.includes('/console/assets/')
    if (message.type() === 'error' && !document && !url.startsWith(env.issuer.url)) problems.push(`${url}: ${message.text()}`)
  })
  page.on('pageerror', err => problems.push(err.message))
  t.pass(`Chromium ${context.browser()?.version() ?? ''} against ${env.url}/console`)
})

test('signing in with GitLab', async t => {
  await page.goto(`${env.url}/console`)
  t.equal(new URL(page.url()).origin, env.issuer.url, 'the console sends a signed-out browser to GitLab (the local issuer)')
  await shot('1-gitlab-sign-in')
  await page.getByRole('button', { name: 'Sign in as local-admin' }).click()
  await page.waitForURL(/\/console\/mappings$/)
  t.equal(await page.locator('.who strong').textContent(), 'local-admin', 'back on the console, signed in as local-admin')
  t.equal(await page.locator('.who .badge').textContent(), 'editor', 'an editor')
  const cookies = await context.cookies(env.url)
  const session = cookies.find(c => c.name === '_idx')
  t.ok(session?.httpOnly, 'the session cookie is HttpOnly: no script can read it')
  t.equal(session?.sameSite, 'Lax', 'and SameSite=Lax')
  t.equal(await page.evaluate('document.cookie'), '', 'the page\'s script sees no cookie')
  await shot('2-mappings')
})

test('finding what a project can get', async t => {
  await page.getByLabel('Project (path or URL)').fill('acme/payments/api')
  await page.getByRole('button', { name: 'Show its roles' }).click()
  await page.waitForSelector('#coverage-table')
  const rows = await page.$$eval('#coverage-table tbody tr', (trs: Array<{ querySelectorAll (s: string): ArrayLike<Element> }>) => trs.map(tr => Array.from(tr.querySelectorAll('td')).map(td => (td.textContent ?? '').trim())))
  t.deepEqual(rows.map(r => [r[0], r[4]]), [
    ['deploy', 'decides'],
    ['deploy', `shadowed by ${scope}`],
    ['read-only', 'decides'],
  ], 'per role, the deciding mapping, and the one it shadows')
  t.match(await page.locator('#coverage + p, section[aria-labelledby=coverage] > p').first().textContent() ?? '', /Roles it may get.*deploy.*read-only/s, 'the roles it may get, in a sentence')
  await shot('3-project-roles')
  // The search box filters the table as one types (the console's script), and submits for the same on the server.
  await page.getByLabel('Search scope, role, ARN, description').fill('readonly')
  const visible = await page.$$eval('#mappings-table tbody tr', (trs: Element[]) => trs.filter(tr => !tr.classList.contains('hidden')).length)
  t.equal(visible, 1, 'typing in the search box filters the table at once (the script runs under the CSP)')
})

test('editing a mapping: its words, the plan, the save, and a concurrent edit refused', async t => {
  await page.goto(`${env.url}/console/mapping?scope=${encodeURIComponent(scope)}&role=deploy`)
  t.match(await page.locator('ul.words').textContent() ?? '', /ref is main.*ref_type is branch.*ref_protected is true/s, 'the mapping in words, the default ref_protected too')
  await shot('4-mapping-in-words')
  await page.getByRole('link', { name: 'Edit this mapping' }).click()
  const yaml = page.getByLabel(/The mapping, as a mapping file/)
  await yaml.fill((await yaml.inputValue()).replace('ref_type: branch', 'environment: production'))
  await page.getByRole('button', { name: 'Show the plan' }).click()
  const plan = await page.locator('pre.plan').textContent() ?? ''
  t.match(plan, /~ update .*acme\/payments\/api\s+deploy/, 'the plan says update')
  t.match(plan, /\+ conditions\.environment: \["production"\]\n\s+- conditions\.ref_type: \["branch"\]/, 'field by field, as mappings apply prints it')
  t.match(await page.locator('.notice').first().textContent() ?? '', /conditions\.ref: matches a branch or a tag of that name/, 'with the CLI\'s warnings')
  t.match(await page.locator('#impact-summary').textContent() ?? '', /^3 requests for the role "deploy" .*: no decision would flip; 3 unchanged\.$/,
    'and its impact: the three requests of the last 30 days, none of which would flip (the jobs ran for production)')
  await shot('5-plan')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.waitForSelector('.good')
  t.match(await page.locator('.good').textContent() ?? '', /Saved, and recorded in the audit/, 'saved')
  t.match(await page.locator('p.muted').first().textContent() ?? '', /by local-admin/, 'updatedBy is the GitLab login')
  // Again, but someone else changes it between the plan and the save.
  await page.getByRole('link', { name: 'Edit this mapping' }).click()
  await yaml.fill((await yaml.inputValue()).replace('environment: production', 'environment: staging'))
  await page.getByRole('button', { name: 'Show the plan' }).click()
  t.match(await page.locator('#impact-summary').textContent() ?? '', /: 2 decisions would flip \(2 issued → denied, 0 denied → issued\); 1 unchanged\.$/,
    'staging only: the two issuances of the last 30 days would flip to denied')
  const flip = await page.$$eval('#impact-to-denied tbody td', (tds: Element[]) => tds.map(td => (td.textContent ?? '').replace(/\s+/g, ' ').trim()))
  t.deepEqual(flip.slice(0, 3), ['acme/payments/api', 'deploy', '2 requests (1 job)'], 'issued → denied, by project and role')
  t.match(flip[3] ?? '', /^job \d+ \(pipeline \d+, ref main\) at /, 'with a sample job')
  t.match(flip[5] ?? '', /environment must be "staging", the token had "production"/, 'and why it would be denied')
  await shot('5b-plan-impact')
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main', ref_type: 'branch' }, description: 'changed by the CLI meanwhile', updatedAt: new Date().toISOString(), updatedBy: 'someone-else' })
  await page.getByRole('button', { name: 'Save' }).click()
  t.match(await page.locator('[role=alert]').textContent() ?? '', /Refused:.*changed by someone else since you planned.*Nothing was written/s, 'the save is refused')
  await shot('6-concurrent-edit-refused')
  const stored = (await env.auditRecords()).map(r => r as unknown as Record<string, unknown>).filter(r => r.kind === 'mapping-change')
  t.deepEqual(stored.map(r => [r.actor, r.outcome]).sort(), [['local-admin', 'changed'], ['local-admin', 'conflict']], 'both attempts are in the audit')
})

test('explaining a refusal', async t => {
  await page.getByRole('link', { name: 'Explain' }).click()
  t.match(await page.locator('#live-credential').textContent() ?? '', /live credential/, 'the page says tokens are live credentials')
  await page.getByLabel('Role the job asks for').fill('deploy')
  await page.getByLabel(/ID token/).fill(await env.mint({ ref: 'feature' }))
  await page.getByRole('button', { name: 'Explain' }).click()
  const verdict = await page.locator('section[aria-labelledby=result]').textContent() ?? ''
  t.match(verdict, /DENIED \(403 access_denied\)/, 'denied, with the status the broker answers')
  t.match(verdict, /The broker's answer would say: .*requires ref to be "main"; this token has "feature"/s, 'in the words of the broker\'s 403')
  t.equal(await page.getByLabel(/ID token/).inputValue(), '', 'the token is not shown back')
  await shot('7-explain-refusal')
})

test('reading the audit chart and a project\'s timeline', async t => {
  await page.getByRole('link', { name: 'Audit' }).click()
  const bars = await page.$$eval('.chart svg rect title', (titles: Element[]) => titles.map(x => x.textContent ?? ''))
  const today = new Date().toISOString().slice(0, 10)
  t.ok(bars.includes(`${today}: 2 issued`), 'today\'s bar: 2 issued')
  t.ok(bars.includes(`${today}: 1 denied`), 'and 1 denied')
  t.match(await page.locator('.chart figcaption').textContent() ?? '', /issued \(2\).*denied \(1\)/s, 'the legend sums them')
  t.equal(await page.locator('.chart svg').getAttribute('role'), 'img', 'the chart is an image with a text alternative')
  await shot('8-audit-chart')
  await page.getByLabel('Project (path or URL)').fill('acme/payments/api')
  await page.getByRole('button', { name: 'Show' }).click()
  t.equal(await page.locator('ol.timeline li').count(), 3, 'the project\'s timeline: its three requests')
  await page.locator('ol.timeline li.issued a').first().click()
  t.match(await page.locator('.good').textContent() ?? '', /AccessKeyId is ASIA/, 'one record in full, with the AccessKeyId to search CloudTrail for')
  await shot('9-audit-record')
})

test('keyboard and labels: every field labelled, every page usable by keyboard', async t => {
  for (const path of ['/console/mappings?project=acme/payments/api', '/console/explain', '/console/audit', `/console/mappings/edit?scope=${encodeURIComponent(scope)}&role=deploy`, '/console/mappings/new']) {
    await page.goto(`${env.url}${path}`)
    t.deepEqual(await unlabelled(), [], `${path}: every field has a label`)
  }
  await page.goto(`${env.url}/console/mappings`)
  await page.keyboard.press('Tab')
  t.equal(await page.locator(':focus').textContent(), 'Skip to content', 'the first Tab reaches "Skip to content"')
  await page.keyboard.press('Enter')
  let steps = 0
  while (await page.locator(':focus').getAttribute('name') !== 'project' && steps++ < 10) await page.keyboard.press('Tab')
  t.ok(steps < 10, `the project field is a few Tabs from the skip link (${steps})`)
  await page.keyboard.type('acme/payments/api')
  await page.keyboard.press('Enter')
  await page.waitForSelector('#coverage-table')
  t.pass('Enter in the field shows the project\'s roles')
  t.deepEqual(problems.filter(p => /Content Security Policy|Refused to/i.test(p)), [], 'no page broke its Content-Security-Policy')
  t.deepEqual(problems, [], 'no script error on any page')
})

test('Teardown', async t => {
  await context?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
  await env?.stop()
  t.pass(`stopped; screenshots in ${ARTIFACTS}`)
})
