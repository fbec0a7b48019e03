// `tanuki-sts mappings apply FILE --dry-run --impact PERIOD` through the real CLI: the audit records of real requests (which
// keep the claims a replay needs) and older seeded ones (which do not), replayed against the stored mappings and a
// changed set; decisions flip both ways, records that cannot answer are counted and named, and nothing is written.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import type { Impact } from '../../src/cli/impact'
import { seedAuditRecord } from '../helpers/audit-seed'
import { ROLE_ARN, scanAll, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { localCliEnv, runCli } from '../helpers/cli'

let env: BrokerEnv
let dir: string
let iss: string
const local = ['--local']
const cli = (args: string[]) => runCli(args, localCliEnv(env))
const jobs: Record<string, string> = {}

async function post (name: string, claims: Record<string, unknown>): Promise<number> {
  jobs[name] = String(9100000000 + Object.keys(jobs).length)
  const token = await env.mint({ job_id: jobs[name], ...claims })
  const res = await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  await res.text()
  return res.status
}

/** A mapping file; `payments` is the acme/payments/api deploy mapping's conditions (the one the plans change). */
function mappingFile (name: string, payments: string, extra = ''): string {
  const path = join(dir, name)
  writeFileSync(path, `mappings:
  - scope: ${iss}/acme/payments/api
    role: deploy
    roleArn: ${ROLE_ARN}
    pin: { project_id: "4301877" }
    conditions:
${payments}
  - scope: ${iss}/acme/web/app
    role: deploy
    roleArn: ${ROLE_ARN}
    pin: none
    conditions:
      user_email: "*@example.com"
${extra}`)
  return path
}

test('Set up env', async t => {
  env = await startBrokerEnv()
  dir = mkdtempSync(join(tmpdir(), 'tanuki-impact-'))
  iss = env.issuer.url
  await env.putMapping({ scope: `${iss}/acme/payments/api`, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  await env.putMapping({ scope: `${iss}/acme/web/app`, role: 'deploy', roleArn: ROLE_ARN, pin: 'none', conditions: { user_email: '*@example.com' } })
  const statuses = [
    await post('main', {}),
    await post('release', { ref: 'release', ref_path: 'refs/heads/release' }),
    await post('staging', { environment: 'staging' }),
    await post('web', { project_path: 'acme/web/app', namespace_path: 'acme/web', project_id: '5550001', namespace_id: '5550' }),
  ]
  // Older records: written before the audit kept claims (no `claims`); one denied for maxUses.
  await seedAuditRecord(env, 2, { outcome: 'denied', role: 'deploy', project_path: 'acme/ledger/api', project_id: '777', condition: 'mapping', reason: 'No mapping' })
  await seedAuditRecord(env, 2, { outcome: 'denied', role: 'read-only', project_path: 'acme/ledger/api', project_id: '777', condition: 'mapping', reason: 'No mapping' })
  await seedAuditRecord(env, 3, { outcome: 'denied', role: 'deploy', condition: 'maxUses', reason: 'used up' })
  await seedAuditRecord(env, 40, { outcome: 'denied', role: 'deploy', ref: 'release', condition: 'ref', reason: 'ref' })
  t.plan(1)
  t.deepEqual(statuses, [200, 403, 200, 200], 'issued on main, denied on release, issued for staging, issued to acme/web/app by e-mail')
})

test('the audit record keeps the claims a replay needs, and the e-mail only where a mapping reads it', async t => {
  const records = await env.auditRecords()
  const of = (job: string) => records.find(r => r.job_id === job)
  const payments = of(jobs.main)
  const web = of(jobs.web)
  t.plan(6)
  t.equal(payments?.claims?.namespace_id, '72815', 'namespace_id (a /* pin reads it)')
  t.equal(payments?.claims?.environment_protected, 'true', 'environment_protected, and the other claims a condition may name')
  t.equal(typeof payments?.claims?.iat, 'number', 'iat (maxTokenAge reads it)')
  t.notOk(JSON.stringify(payments).includes('ada@example.com'), 'no e-mail where no mapping read for the request names it')
  t.deepEqual(payments?.withheld, ['user_email'], 'only the note that the token carried one')
  t.equal(web?.claims?.user_email, 'ada@example.com', 'kept where the deciding mapping has a user_email condition')
})

/** The changed set: acme/payments/api also on release but only for production; acme/ledger gets deploy and read-only. */
const flipsFile = () => mappingFile('flips.yaml', '      ref: [main, release]\n      environment: production', `  - scope: ${iss}/acme/ledger/api
    role: deploy
    roleArn: ${ROLE_ARN}
    pin: { project_id: "777" }
    conditions:
      ref: main
  - scope: ${iss}/acme/ledger/*
    role: read-only
    roleArn: ${ROLE_ARN}
    pin: { namespace_id: "888" }
`)

test('--impact: decisions that flip both ways, grouped by project and role with a sample job; what cannot be replayed, named', async t => {
  const file = flipsFile()
  const before = await scanAll(env.db, env.tables.mappings)
  const auditBefore = (await env.auditRecords()).length
  const json = await cli(['mappings', 'apply', file, ...local, '--dry-run', '--impact', '30d', '--json'])
  const text = await cli(['mappings', 'apply', file, ...local, '--dry-run', '--impact', '30d'])
  const impact = (JSON.parse(json.stdout) as { impact: Impact }).impact
  const group = (direction: string, project: string, role: string) => impact.groups.find(g => g.direction === direction && g.project_path === project && g.role === role)
  t.plan(16)
  t.equal(json.code, 0, 'exit 0')
  t.equal(impact.records, 7, 'seven requests in the last 30 days (the one 40 days back is outside)')
  t.deepEqual(impact.flips, { 'issued→denied': 1, 'denied→issued': 2 }, 'one flips to denied, two to issued')
  t.equal(impact.unchanged, 2, 'two unchanged: main still matches, and acme/web/app\'s mapping is not changed')
  const toDenied = group('issued→denied', 'acme/payments/api', 'deploy')
  t.deepEqual([toDenied?.count, toDenied?.sample.job_id], [1, jobs.staging], 'issued → denied: the staging job on acme/payments/api')
  t.deepEqual(toDenied?.sample.planned, { allow: false, scope: `${iss}/acme/payments/api`, denial: { condition: 'environment', expected: ['production'], actual: 'staging' } },
    'denied under the plan by the environment condition')
  const toIssued = group('denied→issued', 'acme/payments/api', 'deploy')
  t.deepEqual([toIssued?.count, toIssued?.sample.job_id, toIssued?.sample.now.allow], [1, jobs.release, false], 'denied → issued: the release job')
  const ledger = group('denied→issued', 'acme/ledger/api', 'deploy')
  t.deepEqual([ledger?.count, ledger?.sample.planned], [1, { allow: true, scope: `${iss}/acme/ledger/api` }],
    'and an older record, whose own fields are all the new mapping reads (project_id, ref, ref_protected)')
  t.deepEqual(impact.notReplayed.map(x => [x.why, x.count, x.where.map(w => `${w.project_path} ${w.role}`)]).sort(), [
    ['denied by maxUses: use counts depend on the token\'s earlier requests, which are not replayed', 1, ['acme/payments/api deploy']],
    ['made before the audit kept claims; the decision reads namespace_id', 1, ['acme/ledger/api read-only']],
  ], 'not replayed, with why and where: an older record a /* pin needs namespace_id of, and a maxUses denial')
  t.deepEqual(await scanAll(env.db, env.tables.mappings), before, 'nothing written to the mappings table')
  t.equal((await env.auditRecords()).length, auditBefore, 'nor to the audit table')
  t.equal(text.code, 0, 'the text form: exit 0')
  t.match(text.stdout, /Impact: 7 requests from .* replayed against the stored mappings and the planned ones\n {2}3 decisions would flip: 1 issued → denied, 2 denied → issued; 2 unchanged; 2 could not be replayed\./,
    'a summary line')
  t.match(text.stdout, new RegExp(`Issued → denied:\\n {2}acme/payments/api {2}deploy {2}1 request \\(1 job\\)\\n {4}e\\.g\\. job ${jobs.staging} \\(pipeline \\d+, ref main\\)`),
    'issued → denied, by project and role, with a sample job')
  t.match(text.stdout, /planned: {2}denied by .*acme\/payments\/api: environment must be "production", the token had "staging"/, 'and why it would be denied')
  t.match(text.stdout, /Not replayed \(counted, never guessed\):\n {2}1 request: .*\n {4}acme\/\w+\/api \w+(-only)? \(1\)/, 'then what was not replayed, and where')
})

test('--impact: a claim the record withheld (the e-mail) makes the replay one not made, and says which', async t => {
  const file = mappingFile('email.yaml', '      ref: main\n      user_email: "*@example.com"')
  const run = await cli(['mappings', 'apply', file, ...local, '--dry-run', '--impact', '30d', '--json'])
  const impact = (JSON.parse(run.stdout) as { impact: Impact }).impact
  t.plan(3)
  t.deepEqual(impact.flips, { 'issued→denied': 0, 'denied→issued': 0 }, 'nothing is guessed to flip')
  const withheld = impact.notReplayed.find(x => x.why.includes('withheld'))
  t.deepEqual([withheld?.why, withheld?.count], ['the record withheld user_email (personal: kept only when a mapping read for the request names it)', 3],
    'the three acme/payments/api requests could not be replayed: their records withheld user_email')
  t.equal(impact.unchanged, 3, 'the others are unchanged: no mapping they could use changes')
})

test('--impact goes with --dry-run, and takes a period', async t => {
  const file = mappingFile('same.yaml', '      ref: main')
  const wet = await cli(['mappings', 'apply', file, ...local, '--impact', '30d'])
  const bad = await cli(['mappings', 'apply', file, ...local, '--dry-run', '--impact', 'lately'])
  const none = await cli(['mappings', 'apply', file, ...local, '--dry-run', '--impact', '30d'])
  t.plan(5)
  t.equal(wet.code, 1, 'without --dry-run: exit 1')
  t.match(wet.stderr, /--impact goes with --dry-run/, 'saying to add --dry-run')
  t.equal(bad.code, 1, 'a period that is no period: exit 1')
  t.match(bad.stderr, /--impact "lately": give a duration \(30m, 24h, 7d, 2w\) or an ISO date/, 'naming --impact')
  t.match(none.stdout, /No decision flips; 7 unchanged\./, 'a plan that changes nothing flips nothing')
})

test('mappings plan --from OLD NEW --impact: the same replay between two sets of files, reading only the audit table', async t => {
  // OLD says what the table says (the target branch's files, applied); NEW is the change under review.
  const old = mappingFile('old.yaml', '      ref: main')
  const file = flipsFile()
  const before = await scanAll(env.db, env.tables.mappings)
  const auditBefore = (await env.auditRecords()).length
  const applied = await cli(['mappings', 'apply', file, ...local, '--dry-run', '--impact', '30d', '--json'])
  const json = await cli(['mappings', 'plan', '--from', old, file, '--impact', '30d', ...local, '--json'])
  const text = await cli(['mappings', 'plan', '--from', old, file, '--impact', '30d', ...local])
  const impactOf = (run: { stdout: string }) => {
    const { since, until, ...rest } = (JSON.parse(run.stdout) as { impact: Impact }).impact
    return { ...rest, period: Date.parse(until) - Date.parse(since) }
  }
  const planned = JSON.parse(json.stdout) as { summary: Record<string, number>; impact: Impact }
  t.plan(10)
  t.equal(json.code, 0, 'exit 0')
  t.deepEqual(planned.summary, { create: 2, update: 1, delete: 0, unchanged: 1, kept: 0 }, 'the plan between the files: two created, one updated, one unchanged')
  t.deepEqual(planned.impact.flips, { 'issued→denied': 1, 'denied→issued': 2 }, 'one decision flips to denied, two to issued')
  t.deepEqual(impactOf(json), impactOf(applied), 'the same impact as `mappings apply --dry-run --impact` against the table the OLD files made')
  t.equal(text.code, 0, 'the text form: exit 0')
  t.match(text.stdout, /Plan: 2 to create, 1 to update, 0 to delete, 1 unchanged\.\n\nImpact: 7 requests from .* replayed against the --from files and the planned ones\n/,
    'the plan, then the impact, replayed against the --from files')
  t.match(text.stdout, new RegExp(`Issued → denied:\\n {2}acme/payments/api {2}deploy {2}1 request \\(1 job\\)\\n {4}e\\.g\\. job ${jobs.staging} `), 'issued → denied, with its sample job')
  t.match(text.stderr, /Replaying the audit records since .* \(a Scan of table [\w-]+-audit\)/, 'saying which table it reads')
  t.deepEqual(await scanAll(env.db, env.tables.mappings), before, 'nothing written to the mappings table')
  t.equal((await env.auditRecords()).length, auditBefore, 'nor to the audit table')
})

test('mappings plan: --impact needs a target to read, and a target goes only with --impact', async t => {
  const old = mappingFile('old.yaml', '      ref: main')
  const file = flipsFile()
  const untargeted = await cli(['mappings', 'plan', '--from', old, file, '--impact', '30d'])
  const targeted = await cli(['mappings', 'plan', '--from', old, file, ...local])
  const invalid = await cli(['mappings', 'plan', '--from', old, mappingFile('bad.yaml', '      reff: main'), '--impact', '30d', ...local])
  t.plan(6)
  t.equal(untargeted.code, 1, '--impact without --local or --region: exit 1')
  t.match(untargeted.stderr, /--impact replays a broker's audit records: say whose, with --local .* or --region REGION --env staging\|production\./, 'saying how to name one')
  t.equal(targeted.code, 1, '--local without --impact: exit 1')
  t.match(targeted.stderr, /--local, --region, --env and --app go with --impact .*; the plan itself is offline and reads no table\./, 'the plan stays offline')
  t.equal(invalid.code, 1, 'an invalid file: exit 1, before any replay')
  t.notOk(invalid.stderr.includes('Replaying'), 'no audit record was read')
})

test('Teardown', async t => {
  await env.stop()
  rmSync(dir, { recursive: true, force: true })
  t.plan(1)
  t.pass('sandbox, local issuer and local STS stopped')
})
