// The broker's own pipeline, run for real: gitlab-ci-local runs .gitlab-ci.yml's deploy jobs on this machine against
// the local broker and local STS, and their real `npx --no-install arc deploy` deploys to moto server on loopback (with
// test/moto/tanuki_moto.py's extension). The jobs are the file's own; the deploy command differs only by
// AWS_ENDPOINT_URL, set for that command alone (docs/deploy-checks.md says what the emulator does not prove).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { parse } from 'yaml'
import { synth } from '../../scripts/synth'
import { readTargetRoles } from '../../src/cli/target-roles'
import { ROOT, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { docSnippet } from '../helpers/doc-snippets'
import { createPipelineRepo } from '../helpers/gitlab-ci-local'
import type { JobRun, PipelineRepo } from '../helpers/gitlab-ci-local'
import { startMoto } from '../helpers/moto'
import type { DeployedStack, Moto, PolicyDocument } from '../helpers/moto'

// The broker's URL is also the ID token's audience (`aud: $TANUKI_STS_URL` in the file), so the broker must expect it.
const BROKER_URL = `http://localhost:${Number(process.env.TANUKI_TEST_PORT_BASE || 3430)}`
// The mapping docs/deploying.md ("The mapping that lets the pipeline deploy") tells admins to apply for this pipeline, as shown (its GitLab is the local issuer here).
const DEPLOY_MAPPING = (parse(docSnippet('deploy-mapping')) as { mappings: Array<Record<string, unknown>> }).mappings[0]
const ROLE = String(DEPLOY_MAPPING.role)
const ROLE_ARN = String(DEPLOY_MAPPING.roleArn)
// What GitLab would put in this pipeline's ID token (the project gitlab-ci-local sees from the copy's origin remote).
const PROJECT = {
  project_path: 'tanuki/tanuki-sts', project_id: '6100001', namespace_path: 'tanuki', namespace_id: '6100',
  ref: 'main', ref_type: 'branch', ref_protected: 'true',
  environment: 'staging', environment_protected: 'true', deployment_tier: 'staging',
  pipeline_id: '9100001', user_login: 'release.bot',
}

// moto server's port: in the test range, clear of the broker's four (TANUKI_TEST_PORT_BASE .. +3).
const MOTO_PORT = Number(process.env.TANUKI_TEST_PORT_BASE || 3430) + 50
const REGION = 'us-east-1' // app.arc's @aws region, and the file's AWS_REGION
const STAGING = 'TanukiStsStaging'
const PRODUCTION = 'TanukiStsProduction'
/** The deploy job's deploy command, as .gitlab-ci.yml has it. */
const DEPLOY_COMMAND = 'npx --no-install arc deploy'
/** The committed mapping file the jobs' mapping step applies: the documented deploy mapping itself. */
const MAPPING_FILE = 'mappings/deploy.yaml'

let env: BrokerEnv
let moto: Moto
let repo: PipelineRepo

async function runDeploy (job: 'deploy-staging' | 'deploy-production', token: string, brokerUrl = env.url): Promise<JobRun> {
  const r = await repo.run([job], {
    BROKER_ID_TOKEN: token, // what GitLab's `id_tokens:` sets; gitlab-ci-local does not mint ID tokens
    TANUKI_STS_URL: brokerUrl,
    TANUKI_STS_DEPLOY_ROLE: ROLE,
    AWS_ENDPOINT_URL_STS: env.sts.url,
    // The real command; Architect's AWS client (aws-lite) reads AWS_ENDPOINT_URL only, and here for this command only.
    TANUKI_DEPLOY_COMMAND: `env AWS_ENDPOINT_URL=${moto.url} ${DEPLOY_COMMAND}`,
    // The mapping step's CLI (AWS SDK v3) finds the tables through SSM and writes DynamoDB: those two, in the emulator.
    // aws-lite ignores per-service variables, so neither can redirect the deploy.
    AWS_ENDPOINT_URL_SSM: moto.url,
    AWS_ENDPOINT_URL_DYNAMODB: moto.url,
  })
  if (process.env.TANUKI_TEST_VERBOSE) console.log(r.output)
  return r
}
const runDeployStaging = (token: string, brokerUrl = env.url) => runDeploy('deploy-staging', token, brokerUrl)

/** The job log from `line` on (empty without it). */
const after = (output: string, line: string) => output.includes(line) ? output.slice(output.indexOf(line)) : ''
const tail = (output: string) => output.trim().split('\n').slice(-15).map(l => `    ${l}`).join('\n')

test('Set up env', async t => {
  env = await startBrokerEnv({ env: { BROKER_AUDIENCE: BROKER_URL } })
  moto = await startMoto(MOTO_PORT)
  repo = createPipelineRepo()
  // The mapping file the pipeline applies after each deploy: the deploy mapping README.md documents.
  mkdirSync(join(repo.dir, 'mappings'), { recursive: true })
  writeFileSync(join(repo.dir, MAPPING_FILE), `${docSnippet('deploy-mapping')}\n`)
  await env.putMapping({ ...DEPLOY_MAPPING, scope: String(DEPLOY_MAPPING.scope).replace('https://gitlab.com', env.issuer.url) })
  t.equal(DEPLOY_MAPPING.scope, `https://gitlab.com/${PROJECT.project_path}`, 'the documented mapping is for this project')
  t.equal(env.url, BROKER_URL, `broker running at ${env.url}`)
  t.ok(repo.dir, `pipeline repo copied to ${repo.dir}`)
  t.ok(moto.url, `moto server running at ${moto.url}`)
  // The jobs name `image: node:22`; the shell executor gives them this process's node instead (first on their PATH).
  const image = String((parse(readFileSync(join(ROOT, '.gitlab-ci.yml'), 'utf8')) as { default: { image: string } }).default.image)
  const major = Number(process.versions.node.split('.')[0])
  t.ok(major >= Number(image.replace(/^node:/, '')), `the jobs run node ${process.versions.node}, at least the ${image} they name (.ci/run installs it)`)
})

const BOOTSTRAP_ROLE_ARN = 'arn:aws:iam::111122223333:role/tanuki-sts-bootstrap'
const names = (jobs: Array<{ name: string; when: string }>) => jobs.map(j => `${j.name}:${j.when}`)
const TESTS_ONLY = ['test:on_success', 'test-e2e:on_success']

test('the pipeline passes GitLab\'s CI schema and its rules pick the jobs for each ref', async t => {
  t.deepEqual(names(await repo.list()),
    [...TESTS_ONLY, 'deploy-staging:on_success', 'deploy-production:manual'],
    'the default branch tests, deploys staging, and offers production as a manual job')
  const tag = (name: string, isProtected: boolean, more: Record<string, string> = {}) =>
    repo.list({ CI_COMMIT_TAG: name, CI_COMMIT_REF_NAME: name, CI_COMMIT_REF_PROTECTED: String(isProtected), ...more }, ['CI_COMMIT_BRANCH'])
  t.deepEqual(names(await tag('v1.0.0', true)), [...TESTS_ONLY, 'deploy-production:on_success'], 'a protected v* tag tests and deploys production')
  t.deepEqual(names(await tag('v1.0.0', false)), TESTS_ONLY, 'an unprotected v* tag only tests')
  t.deepEqual(names(await tag('release-1', true)), TESTS_ONLY, 'a protected tag not named v* only tests')
  t.deepEqual(names(await repo.list({ CI_COMMIT_BRANCH: 'feature/x', CI_COMMIT_REF_NAME: 'feature/x' })), TESTS_ONLY, 'any other branch only tests')
  // Bootstrapping: no broker yet, so no job may ask one for credentials (docs/deploying.md, "Bootstrap: the first deploy").
  t.deepEqual(names(await repo.list({ TANUKI_BOOTSTRAP_ROLE_ARN: BOOTSTRAP_ROLE_ARN })), TESTS_ONLY,
    'with TANUKI_BOOTSTRAP_ROLE_ARN set, the default branch only tests')
  t.deepEqual(names(await tag('v1.0.0', true, { TANUKI_BOOTSTRAP_ROLE_ARN: BOOTSTRAP_ROLE_ARN })), TESTS_ONLY,
    'and so does a protected v* tag')
})

test('the bootstrap job of docs/deploying.md is valid GitLab CI, offered by hand only once its variable is set', async t => {
  const file = 'bootstrap.gitlab-ci.yml'
  const snippet = docSnippet('bootstrap-job')
  writeFileSync(join(repo.dir, file), `${readFileSync(join(repo.dir, '.gitlab-ci.yml'), 'utf8')}\n${snippet}\n`)
  t.deepEqual(names(await repo.list({ TANUKI_BOOTSTRAP_ROLE_ARN: BOOTSTRAP_ROLE_ARN }, [], file)), [...TESTS_ONLY, 'bootstrap-production:manual'],
    'with the variable: the tests and the manual bootstrap job, no deploy job that would ask the missing broker')
  // A manual job in a later stage is skipped when an earlier stage fails; with no needs it waits for no stage at all.
  t.deepEqual((parse(snippet) as Record<string, { needs?: unknown }>)['bootstrap-production']?.needs, [], 'needs: [], so no earlier stage can hold it back')
  t.notOk((await repo.list({}, [], file)).some(j => j.name === 'bootstrap-production'), 'without it: no job')
})

test('the deploy jobs ask GitLab for an ID token whose audience is the broker URL, and install without install scripts', async t => {
  const preview = await repo.preview()
  for (const name of ['deploy-staging', 'deploy-production']) {
    const job = preview[name] as { id_tokens?: Record<string, { aud?: unknown }>; script?: string[]; before_script?: string[] }
    t.equal(job.id_tokens?.BROKER_ID_TOKEN?.aud, '$TANUKI_STS_URL', `${name}: BROKER_ID_TOKEN with aud $TANUKI_STS_URL`)
    const lines = [...(job.before_script ?? []), ...(job.script ?? [])].join('\n')
    t.notOk(/AWS_ACCESS_KEY_ID=|AWS_SECRET_ACCESS_KEY=|AKIA[0-9A-Z]{16}/.test(lines), `${name}: no AWS keys in the file`)
    // The install runs after the credentials are exported: no dependency's install script may run with them.
    const installs = lines.split('\n').filter(l => /\bnpm (ci|install|i)\b/.test(l))
    t.ok(installs.length > 0 && installs.every(l => /--ignore-scripts\b/.test(l)), `${name}: installs with --ignore-scripts (${installs.join('; ')})`)
  }
})

test('deploy-staging gets credentials from the broker, is the mapped role in AWS, and deploys', async t => {
  const issuedBefore = env.sts.issued.length
  const whoamiBefore = env.sts.calls.GetCallerIdentity
  const jobId = '7000000001'
  const token = await env.mint({ ...PROJECT, job_id: jobId }, { audience: env.url })
  const r = await runDeployStaging(token)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)

  const session = `gitlab-${PROJECT.project_id}-${jobId}`
  const assumed = env.sts.issued.slice(issuedBefore)
  t.equal(assumed.length, 1, 'the broker assumed one role on the local STS')
  t.equal(assumed[0]?.roleArn, ROLE_ARN, 'the mapped deploy role')
  t.equal(assumed[0]?.roleSessionName, session, 'in a session named after the project and job')
  t.ok(r.output.includes(`"Arn": "arn:aws:sts::111122223333:assumed-role/tanuki-sts-deploy/${session}"`),
    'aws sts get-caller-identity in the job printed the assumed role')
  t.equal(env.sts.calls.GetCallerIdentity - whoamiBefore, 1, 'the local STS verified that call\'s signature with the issued credentials')
  t.ok(after(r.output, '$ $TANUKI_DEPLOY_COMMAND\n').includes(`| Stack ... ${STAGING}\n`), `then ${DEPLOY_COMMAND} ran, with the credentials in place, for ${STAGING}`)
  t.match(r.output, /Success! Deployed app/, 'and reported success')
  t.equal((await moto.describe(STAGING)).status, 'CREATE_COMPLETE', `the stack ${STAGING} reached CREATE_COMPLETE`)

  const records = (await env.auditRecords()).filter(a => a.job_id === jobId)
  t.equal(records.length, 1, 'the audit table has one record for this job id')
  t.equal(records[0]?.outcome, 'issued', 'an issuance')
  t.equal(records[0]?.roleArn, ROLE_ARN, 'of the deploy role')
  t.equal(records[0]?.project_path, PROJECT.project_path, 'to this project')
  t.notOk(r.output.includes(token), 'the ID token never appears in the job log')
})

// What the first deploy left in the emulator, read back through the AWS APIs.
let staging: DeployedStack

const statements = (doc: PolicyDocument | undefined) => doc?.Statement ?? []
const actions = (s: { Action: string | string[] }) => [s.Action].flat()
const accountOf = (arn: string) => arn.split(':')[4]

test('the deployed stack: each Lambda runs nodejs22.x as its role, and only the credentials Lambdas\' role may assume target roles', async t => {
  staging = await moto.describe(STAGING)
  const fn = staging.functions
  t.deepEqual(Object.keys(fn).sort(),
    ['AnyCatchallHTTPLambda', 'CredentialsIssuedEventLambda', 'GetCredentialsHTTPLambda', 'GetHealthzHTTPLambda', 'PostCredentialsHTTPLambda'],
    'five functions: four routes and the event')
  for (const [name, f] of Object.entries(fn)) t.equal(f.runtime, 'nodejs22.x', `${name}: nodejs22.x`)
  const { Role: role, PlainRole: plain, EventsRole: events } = staging.roles
  t.equal(fn.PostCredentialsHTTPLambda?.role, role?.arn, 'POST /credentials runs as Role')
  t.equal(fn.GetCredentialsHTTPLambda?.role, role?.arn, 'GET /credentials runs as Role')
  t.equal(fn.GetHealthzHTTPLambda?.role, plain?.arn, 'GET /healthz runs as PlainRole')
  t.equal(fn.AnyCatchallHTTPLambda?.role, plain?.arn, 'the catch-all runs as PlainRole')
  t.equal(fn.CredentialsIssuedEventLambda?.role, events?.arn, 'the event Lambda runs as EventsRole')

  const sts = statements(role?.policies.TanukiStsPolicy)
  t.deepEqual(sts.map(s => [s.Effect, actions(s).sort(), s.Resource]),
    [['Allow', ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'], readTargetRoles(ROOT)]],
    'Role\'s TanukiStsPolicy: AssumeRole, TagSession and SetSourceIdentity on exactly app.arc\'s target roles')
  const callsSts = Object.entries(staging.roles).filter(([, r]) => Object.values(r.policies).some(p => statements(p).some(s => actions(s).some(a => a.startsWith('sts:')))))
  t.deepEqual(callsSts.map(([name]) => name), ['Role'], 'no other role of the stack may call STS')
  t.notOk(role?.policies.ArcDynamoPolicy, 'Architect\'s dynamodb:* policy is gone')
})

test('the deployed stack: the table statements name the deployed tables: read mappings, append audit, never delete', async t => {
  const { Role: role, PlainRole: plain, EventsRole: events } = staging.roles
  const account = accountOf(role?.arn ?? '')
  const arn = (table: string | undefined, suffix = '') => `arn:aws:dynamodb:${REGION}:${account}:table/${table}${suffix}`
  const mappings = staging.tables.MappingsTable?.name
  const audit = staging.tables.AuditTable?.name
  const bySid = Object.fromEntries(statements(role?.policies.TanukiStsTables).map(s => [s.Sid, [s.Effect, actions(s).sort(), s.Resource]]))
  t.deepEqual(bySid.ReadMappings, ['Allow', ['dynamodb:BatchGetItem', 'dynamodb:GetItem'], [arn(mappings)]], 'ReadMappings: GetItem, BatchGetItem on the mappings table')
  t.deepEqual(bySid.AppendAudit, ['Allow', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'], [arn(audit), arn(audit, '/index/*')]],
    'AppendAudit: put, update, get and query the audit table and its indexes')
  t.deepEqual(bySid.NeverDelete, ['Deny', ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:UpdateTimeToLive'],
    [arn(mappings), arn(audit)]], 'NeverDelete: deleting records or tables, or turning TTL off, is denied on both')
  t.deepEqual(Object.keys(plain?.policies ?? {}), ['TanukiStsPlain'], 'PlainRole: its own policy only')
  t.deepEqual(statements(plain?.policies.TanukiStsPlain).flatMap(actions).sort(), ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], 'PlainRole: its logs')
  const annotate = statements(events?.policies.TanukiStsPlain).find(s => s.Sid === 'AnnotateAudit')
  t.deepEqual([annotate?.Effect, annotate && actions(annotate), annotate?.Resource], ['Allow', ['dynamodb:UpdateItem'], [arn(audit)]], 'EventsRole: UpdateItem on the audit table alone')
})

test('the deployed stack: both tables, with their keys, the byProject index, TTL, point-in-time recovery and deletion protection', async t => {
  const { MappingsTable: mappings, AuditTable: audit } = staging.tables
  t.deepEqual(mappings?.keys, [{ AttributeName: 'scope', KeyType: 'HASH' }, { AttributeName: 'role', KeyType: 'RANGE' }], 'mappings: keyed by scope and role')
  t.deepEqual(audit?.keys, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], 'audit: keyed by pk and sk')
  t.deepEqual(audit?.indexes, { byProject: [{ AttributeName: 'project', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }] }, 'audit: the byProject index')
  t.deepEqual(audit?.projections, { byProject: { ProjectionType: 'KEYS_ONLY' } }, 'audit: the index keeps keys only')
  t.deepEqual(audit?.ttl, { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' }, 'audit: TTL on expiresAt')
  t.equal(mappings?.ttl.TimeToLiveStatus, 'DISABLED', 'mappings: no TTL')
  for (const [name, table] of Object.entries(staging.tables)) {
    t.equal(table.pitr, 'ENABLED', `${name}: point-in-time recovery on`)
    t.equal(table.deletionProtection, true, `${name}: deletion protection on`)
  }
  t.deepEqual(staging.parameters, {
    [`/${STAGING}/tables/mappings`]: mappings?.name, [`/${STAGING}/tables/audit`]: audit?.name,
    [`/${STAGING}/events/credentials-issued`]: staging.topics.CredentialsIssuedEventTopic?.arn,
  }, 'SSM names the tables and the topic, where the CLI\'s --region --env looks them up')
  for (const [name, f] of Object.entries(staging.functions)) {
    t.deepEqual([f.environment.BROKER_TABLE_MAPPINGS, f.environment.BROKER_TABLE_AUDIT, f.environment.BROKER_EVENTS_TOPIC, f.environment.ARC_ENV],
      [mappings?.name, audit?.name, staging.topics.CredentialsIssuedEventTopic?.arn, 'staging'], `${name}: the table names, the topic ARN, ARC_ENV staging`)
  }
})

test('the deployed stack: the credentials-issued topic with the event Lambda subscribed, and the HTTP API\'s routes and throttling', async t => {
  const topic = staging.topics.CredentialsIssuedEventTopic
  const eventFn = staging.functions.CredentialsIssuedEventLambda?.name ?? ''
  t.deepEqual(topic?.subscriptions.map(s => [s.protocol, s.endpoint.endsWith(`:function:${eventFn}`)]), [['lambda', true]], 'one subscription: the event Lambda')
  const apis = Object.values(staging.apis)
  t.equal(apis.length, 1, 'one HTTP API')
  const routes = apis[0]?.routes ?? {}
  const target = (route: string) => Object.entries(staging.functions).find(([, f]) => routes[route]?.includes(`:function:${f.name}/`))?.[0]
  t.deepEqual(Object.keys(routes).sort().map(r => [r, target(r)]), [
    ['ANY /{proxy+}', 'AnyCatchallHTTPLambda'], ['GET /credentials', 'GetCredentialsHTTPLambda'],
    ['GET /healthz', 'GetHealthzHTTPLambda'], ['POST /credentials', 'PostCredentialsHTTPLambda'],
  ], 'four routes, each to its Lambda')
  const stage = apis[0]?.stages.$default
  t.deepEqual(stage?.defaultRouteSettings, { ThrottlingBurstLimit: 500, ThrottlingRateLimit: 100 }, 'the $default stage throttles every route: 100 a second, bursts of 500')
  t.equal(stage?.accessLogSettings, null, 'no access log (opt-in)')
})

test('what arc deploy sent is the template npm run synth writes, which npm run check:template lints', async t => {
  // The same but for what only a real deploy fills in: the code's S3 location, and the time in the description.
  const comparable = (tmpl: DeployedStack['template']) => JSON.parse(JSON.stringify(tmpl, (key: string, value: unknown) =>
    key === 'CodeUri' || key === 'Description' ? undefined : value)) as unknown
  const sent = staging.template
  t.ok(Object.values(sent.Resources).filter(r => r.Type === 'AWS::Serverless::Function').every(r => String(r.Properties.CodeUri).startsWith('s3://')),
    'each function\'s code was uploaded to the deployment bucket')
  t.deepEqual(comparable(sent), comparable(await synth(ROOT, false)), 'the rest is exactly the synthesised template')
})

test('the mapping step applied the committed mapping file to the deployed stack\'s table, through --region --env', async t => {
  const mapping = parse(docSnippet('deploy-mapping')) as { mappings: Array<{ scope: string; role: string; roleArn: string }> }
  const items = staging.tables.MappingsTable?.items ?? []
  t.deepEqual(items.map(i => [i.scope, i.role, i.roleArn]), mapping.mappings.map(m => [m.scope, m.role, m.roleArn]),
    `the mappings table holds ${MAPPING_FILE}'s mapping`)
  t.deepEqual(staging.tables.AuditTable?.items, [], 'and the audit table nothing yet')
})

test('a second deploy, after app.arc names a new target role and turns every option on, updates the stack', async t => {
  const arcFile = join(repo.dir, 'app.arc')
  const newRole = 'arn:aws:iam::111122223333:role/gitlab-runners-*'
  const boundary = 'arn:aws:iam::111122223333:policy/tanuki-sts-boundary'
  const arc = readFileSync(arcFile, 'utf8').replace(/^(target-roles .*)$/m, `$1 ${newRole}\npermissions-boundary ${boundary}\nlog-retention-days 30\naccess-log-retention-days 90`)
  writeFileSync(arcFile, arc)
  const r = await runDeployStaging(await env.mint({ ...PROJECT, job_id: '7000000005' }, { audience: env.url }))
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  const updated = await moto.describe(STAGING)
  t.equal(updated.status, 'UPDATE_COMPLETE', `${STAGING} reached UPDATE_COMPLETE`)
  t.deepEqual(statements(updated.roles.Role?.policies.TanukiStsPolicy).flatMap(s => [s.Resource].flat()), [...readTargetRoles(ROOT) ?? [], newRole],
    'Role may now assume the new target role too')
  t.deepEqual(Object.keys(updated.tables).map(k => updated.tables[k]?.name), Object.keys(staging.tables).map(k => staging.tables[k]?.name),
    'the same tables: nothing replaced')
  t.equal(updated.tables.MappingsTable?.items.length, 1, 'still holding the mapping')

  // permissions-boundary: on every role of the stack.
  t.deepEqual(Object.entries(updated.roles).map(([name, role]) => [name, role.boundary]), Object.keys(updated.roles).map(name => [name, boundary]),
    'permissions-boundary: every role carries it')
  // log-retention-days: each function logs to a group of the stack's own, kept 30 days.
  for (const [name, f] of Object.entries(updated.functions)) {
    const group = updated.logGroups[`${name}Logs`]
    t.ok(group && f.loggingConfig?.LogGroup === group.name && group.retentionInDays === 30, `log-retention-days: ${name} logs to ${group?.name}, kept 30 days`)
  }
  // access-log-retention-days: the stage's access log goes to its group, kept 90 days.
  const access = updated.logGroups.HttpAccessLogs
  t.deepEqual([access?.name, access?.retentionInDays], [`/aws/vendedlogs/${STAGING}-access`, 90], 'access-log-retention-days: the access log group, kept 90 days')
  const log = Object.values(updated.apis)[0]?.stages.$default?.accessLogSettings
  t.ok(log?.DestinationArn.includes(`:log-group:/aws/vendedlogs/${STAGING}-access`), 'the $default stage logs each request there')
  t.ok(log && !/header|authorization/i.test(log.Format), 'in a format with no header, so no token')
})

test('deploy-production deploys its own stack, beside staging\'s', async t => {
  const production = { ...PROJECT, ref: 'v1.4.0', ref_type: 'tag', environment: 'production', deployment_tier: 'production' }
  const r = await runDeploy('deploy-production', await env.mint({ ...production, job_id: '7000000006' }, { audience: env.url }))
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(after(r.output, '$ $TANUKI_DEPLOY_COMMAND --production\n').includes(`| Stack ... ${PRODUCTION}\n`), `it ran ${DEPLOY_COMMAND} --production, for ${PRODUCTION}`)
  const prod = await moto.describe(PRODUCTION)
  t.equal(prod.status, 'CREATE_COMPLETE', `${PRODUCTION} reached CREATE_COMPLETE`)
  const names = (stack: DeployedStack) => Object.values(stack.tables).map(tb => tb.name)
  t.ok(names(prod).every(n => n.startsWith(`${PRODUCTION}-`) && !names(staging).includes(n)), `its own tables: ${names(prod).join(', ')}`)
  t.ok(Object.values(prod.functions).every(f => f.environment.ARC_ENV === 'production' && f.runtime === 'nodejs22.x'), 'its functions run nodejs22.x with ARC_ENV production')
  t.equal(prod.tables.MappingsTable?.items.length, 1, 'the mapping step applied the mapping file to production\'s table')
  t.equal((await moto.describe(STAGING)).status, 'UPDATE_COMPLETE', 'staging\'s stack is untouched')
})

test('the documented mapping: a protected v* tag deploying production is let through, a protected feature branch is not', async t => {
  const post = async (claims: Record<string, string>) => (await fetch(`${env.url}/credentials?role=${ROLE}`, {
    method: 'POST', headers: { authorization: `Bearer ${await env.mint({ ...PROJECT, ...claims }, { audience: env.url })}` },
  })).status
  t.equal(await post({ ref: 'v1.4.0', ref_type: 'tag', environment: 'production', job_id: '7000000010' }), 200, 'tag v1.4.0, production: 200')
  t.equal(await post({ ref: 'feature/x', environment: 'staging', job_id: '7000000011' }), 403, 'branch feature/x, even protected: 403')
  t.equal(await post({ environment: 'review/x', job_id: '7000000012' }), 403, 'main, but environment review/x: 403')
})

async function assertDenied (t: test.Test, claims: Record<string, string>, jobId: string, message: RegExp) {
  const issuedBefore = env.sts.issued.length
  const assumeCallsBefore = env.sts.calls.AssumeRole
  const r = await runDeployStaging(await env.mint({ ...PROJECT, ...claims, job_id: jobId }, { audience: env.url }))
  t.notEqual(r.code, 0, `the job failed (${r.seconds.toFixed(1)} s)`)
  t.match(r.output, message, 'its log shows the broker\'s message')
  t.notOk(r.output.includes('$ aws sts get-caller-identity'), 'it stopped at the eval: the next line never ran')
  t.notOk(r.output.includes(DEPLOY_COMMAND), 'the deploy command never ran')
  t.equal(env.sts.issued.length, issuedBefore, 'the local STS issued nothing')
  t.equal(env.sts.calls.AssumeRole, assumeCallsBefore, 'the broker did not even call AssumeRole')
  const records = (await env.auditRecords()).filter(a => a.job_id === jobId)
  t.ok(records.length > 0 && records.every(a => a.outcome === 'denied'), `the audit table shows only denials for this job (${records.length})`)
}

test('deploy-staging with another project\'s token fails at the eval with the broker\'s message', async t => {
  await assertDenied(t, { project_path: 'acme/other', project_id: '6100999', namespace_path: 'acme' }, '7000000002',
    /tanuki-sts: access_denied: No mapping lets http:\/\/127\.0\.0\.1:\d+\/acme\/other use the role "tanuki-sts-deploy"/)
})

test('deploy-staging from an unprotected branch fails at the eval with the broker\'s message', async t => {
  await assertDenied(t, { ref_protected: 'false' }, '7000000003',
    /tanuki-sts: access_denied: The mapping .* requires ref_protected to be "true" \(the default: only protected refs/)
})

test('deploy-staging with the broker unreachable stops before any AWS call', async t => {
  const issuedBefore = env.sts.issued.length
  const whoamiBefore = env.sts.calls.GetCallerIdentity
  // Port 9 (discard) on loopback: nothing listens, so curl fails to connect and prints no body for the eval.
  const r = await runDeployStaging(await env.mint({ ...PROJECT, job_id: '7000000004' }, { audience: env.url }), 'http://127.0.0.1:9')
  t.notEqual(r.code, 0, `the job failed (${r.seconds.toFixed(1)} s)`)
  t.match(r.output, /curl: \(7\) Failed to connect/, 'its log shows curl\'s connection error')
  t.match(r.output, /AWS_SESSION_TOKEN: no credentials from the broker at http:\/\/127\.0\.0\.1:9/, 'and the check after the eval stopped the job')
  t.notOk(r.output.includes('$ aws sts get-caller-identity'), 'the AWS CLI never ran')
  t.equal(env.sts.calls.GetCallerIdentity, whoamiBefore, 'no AWS call was made')
  t.equal(env.sts.issued.length, issuedBefore, 'nothing was issued')
})

test('Teardown', async t => {
  await moto?.stop() // first: whatever failed above, the emulator does not outlive the test
  // Let the event Lambda finish the issuance's record before the sandbox goes away under it.
  await eventually(async () => (await env.auditRecords()).every(a => a.outcome !== 'issued' || a.accessKeyId) || undefined)
  repo.remove()
  await env.stop()
  t.pass('stopped')
})
