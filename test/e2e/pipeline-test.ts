// The broker's own pipeline, run for real: gitlab-ci-local runs .gitlab-ci.yml's deploy jobs on this machine against
// the local broker and local STS, and their real `npx --no-install arc deploy` deploys to moto server on loopback (with
// test/moto/tanuki_moto.py's extension). The jobs are the file's own; the deploy command differs only by
// AWS_ENDPOINT_URL, set for that command alone (docs/deploy-checks.md says what the emulator does not prove).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { parse } from 'yaml'
import { ALL_OPTIONS, withOptions } from '../../scripts/check-template'
import { synth } from '../../scripts/synth'
import { KEYS_ITEM_ATTRIBUTES } from '../../src/broker/issuer-keys'
import { readTargetRoles } from '../../src/cli/target-roles'
import { ROOT, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { runCli } from '../helpers/cli'
import { docSnippet } from '../helpers/doc-snippets'
import { createPipelineRepo } from '../helpers/gitlab-ci-local'
import type { JobRun, PipelineRepo } from '../helpers/gitlab-ci-local'
import { startMoto } from '../helpers/moto'
import type { DeployedAlarm, DeployedStack, MetricQuery, Moto, PolicyDocument } from '../helpers/moto'
import { post as postTo } from '../helpers/post'

// The broker's URL is also the ID token's audience (`aud: $TANUKI_STS_URL` in the file), so the broker must expect it.
const BROKER_URL = `http://localhost:${Number(process.env.TANUKI_TEST_PORT_BASE || 3430)}`
// The mapping docs/deploying.md ("The mapping that lets the pipeline deploy") tells admins to apply for this pipeline, as shown
// (its GitLab is the local issuer here).
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

/** What the first deploy left in the emulator, read back through the AWS APIs. */
let staging: DeployedStack

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
  t.ok(after(r.output, '$ $TANUKI_DEPLOY_COMMAND\n').includes(`| Stack ... ${STAGING}\n`),
    `then ${DEPLOY_COMMAND} ran, with the credentials in place, for ${STAGING}`)
  t.match(r.output, /Success! Deployed app/, 'and reported success')
  staging = await moto.describe(STAGING)
  t.equal(staging.status, 'CREATE_COMPLETE', `the stack ${STAGING} reached CREATE_COMPLETE`)

  const records = (await env.auditRecords()).filter(a => a.job_id === jobId)
  t.equal(records.length, 1, 'the audit table has one record for this job id')
  t.equal(records[0]?.outcome, 'issued', 'an issuance')
  t.equal(records[0]?.roleArn, ROLE_ARN, 'of the deploy role')
  t.equal(records[0]?.project_path, PROJECT.project_path, 'to this project')
  t.notOk(r.output.includes(token), 'the ID token never appears in the job log')
})

const statements = (doc: PolicyDocument | undefined) => doc?.Statement ?? []
const actions = (s: { Action: string | string[] }) => [s.Action].flat()
/** A policy's statements by Sid: [effect, sorted actions, resources]. */
const bySid = (doc: PolicyDocument | undefined) => Object.fromEntries(statements(doc).map(s => [s.Sid, [s.Effect, actions(s).sort(), s.Resource]]))
const accountOf = (arn: string) => arn.split(':')[4]
/** A deployed table's ARN, as the roles' statements name it. */
const tableArn = (stack: DeployedStack, table: string, suffix = '') =>
  `arn:aws:dynamodb:${REGION}:${accountOf(stack.roles.Role?.arn ?? '')}:table/${stack.tables[table]?.name}${suffix}`
const CONSOLE_READ = ['GetConsoleHTTPLambda', 'GetConsoleCatchallHTTPLambda']
const CONSOLE_WRITE = 'PostConsoleCatchallHTTPLambda'

test('the deployed stack: each Lambda runs nodejs22.x as its role, and only the credentials Lambdas\' role may assume target roles', async t => {
  const fn = staging.functions
  t.deepEqual(Object.keys(fn).sort(), [
    'AnyCatchallHTTPLambda', 'CredentialsIssuedEventLambda', 'GetConsoleCatchallHTTPLambda', 'GetConsoleHTTPLambda',
    'GetCredentialsHTTPLambda', 'GetHealthzHTTPLambda', 'PostConsoleCatchallHTTPLambda', 'PostCredentialsHTTPLambda',
  ], 'eight functions: seven routes (three of them the console\'s) and the event')
  for (const [name, f] of Object.entries(fn)) t.equal(f.runtime, 'nodejs22.x', `${name}: nodejs22.x`)
  const { Role: role, PlainRole: plain, EventsRole: events, ConsoleReadRole: consoleRead, ConsoleWriteRole: consoleWrite } = staging.roles
  t.deepEqual(Object.keys(staging.roles).sort(), ['ConsoleReadRole', 'ConsoleWriteRole', 'EventsRole', 'PlainRole', 'Role'], 'five roles')
  t.equal(fn.PostCredentialsHTTPLambda?.role, role?.arn, 'POST /credentials runs as Role')
  t.equal(fn.GetCredentialsHTTPLambda?.role, role?.arn, 'GET /credentials runs as Role')
  t.equal(fn.GetHealthzHTTPLambda?.role, plain?.arn, 'GET /healthz runs as PlainRole')
  t.equal(fn.AnyCatchallHTTPLambda?.role, plain?.arn, 'the catch-all runs as PlainRole')
  t.equal(fn.CredentialsIssuedEventLambda?.role, events?.arn, 'the event Lambda runs as EventsRole')
  for (const name of CONSOLE_READ) t.equal(fn[name]?.role, consoleRead?.arn, `${name} (the console's pages) runs as ConsoleReadRole`)
  t.equal(fn[CONSOLE_WRITE]?.role, consoleWrite?.arn, `${CONSOLE_WRITE} (the console's forms) runs as ConsoleWriteRole`)

  const sts = statements(role?.policies.TanukiStsPolicy)
  t.deepEqual(sts.map(s => [s.Effect, actions(s).sort(), s.Resource]),
    [['Allow', ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'], readTargetRoles(ROOT)]],
    'Role\'s TanukiStsPolicy: AssumeRole, TagSession and SetSourceIdentity on exactly app.arc\'s target roles')
  const callsSts = Object.entries(staging.roles)
    .filter(([, r]) => Object.values(r.policies).some(p => statements(p).some(s => actions(s).some(a => a.startsWith('sts:')))))
  t.deepEqual(callsSts.map(([name]) => name), ['Role'], 'no other role of the stack may call STS')
  t.notOk(role?.policies.ArcDynamoPolicy, 'Architect\'s dynamodb:* policy is gone')
})

test('the deployed stack: the table statements name the deployed tables: read mappings and keys, put key items only, append audit, never delete', async t => {
  const { Role: role, PlainRole: plain, EventsRole: events } = staging.roles
  const arn = (table: string, suffix = '') => tableArn(staging, table, suffix)
  const tables = bySid(role?.policies.TanukiStsTables)
  t.deepEqual(Object.keys(tables), ['ReadMappings', 'ReadIssuerKeys', 'StoreFetchedIssuerKeys', 'AppendAudit', 'NeverDelete'],
    'Role\'s TanukiStsTables: five statements')
  t.deepEqual(tables.ReadMappings, ['Allow', ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'], [arn('MappingsTable')]],
    'ReadMappings: GetItem, BatchGetItem and Query on the mappings table')
  t.deepEqual(tables.ReadIssuerKeys, ['Allow', ['dynamodb:BatchGetItem', 'dynamodb:GetItem'], [arn('IssuerKeysTable')]],
    'ReadIssuerKeys: GetItem, BatchGetItem on the issuer-keys table')
  const store = statements(role?.policies.TanukiStsTables).find(s => s.Sid === 'StoreFetchedIssuerKeys')
  t.deepEqual(tables.StoreFetchedIssuerKeys, ['Allow', ['dynamodb:PutItem'], [arn('IssuerKeysTable')]],
    'StoreFetchedIssuerKeys: PutItem on the issuer-keys table')
  t.deepEqual(store?.Condition, { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...KEYS_ITEM_ATTRIBUTES] } },
    'only of a key item: no attribute but the five the broker\'s parser reads (KEYS_ITEM_ATTRIBUTES)')
  t.deepEqual(tables.AppendAudit, ['Allow', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
    [arn('AuditTable'), arn('AuditTable', '/index/*')]],
  'AppendAudit: put, update, get and query the audit table and its indexes')
  t.deepEqual(tables.NeverDelete, ['Deny', ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable',
    'dynamodb:UpdateTimeToLive'],
  [arn('MappingsTable'), arn('AuditTable'), arn('IssuerKeysTable')]], 'NeverDelete: deleting records or tables, or turning TTL off, is denied on all three')
  t.deepEqual(Object.keys(plain?.policies ?? {}), ['TanukiStsPlain'], 'PlainRole: its own policy only')
  t.deepEqual(statements(plain?.policies.TanukiStsPlain).flatMap(actions).sort(), ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
    'PlainRole: its logs')
  t.deepEqual(bySid(events?.policies.TanukiStsPlain).AnnotateAudit, ['Allow', ['dynamodb:UpdateItem'], [arn('AuditTable')]],
    'EventsRole: UpdateItem on the audit table alone')
})

test('the deployed stack: the console\'s roles read mappings, audit and issuer keys, its write role puts a mapping and its record; ' +
  'no role but Role may write the issuer keys', async t => {
  const { ConsoleReadRole: read, ConsoleWriteRole: write } = staging.roles
  const arn = (table: string, suffix = '') => tableArn(staging, table, suffix)
  const audit = [arn('AuditTable'), arn('AuditTable', '/index/*')]
  const reads = {
    OwnLogs: ['Allow', ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      `arn:aws:logs:${REGION}:${accountOf(read?.arn ?? '')}:log-group:/aws/lambda/*`],
    ConsoleReadMappings: ['Allow', ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'], [arn('MappingsTable')]],
    ConsoleReadAudit: ['Allow', ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'], audit],
    ConsoleReadIssuerKeys: ['Allow', ['dynamodb:BatchGetItem', 'dynamodb:GetItem'], [arn('IssuerKeysTable')]],
  }
  t.deepEqual(Object.keys(read?.policies ?? {}), ['TanukiStsPlain'], 'ConsoleReadRole: one policy')
  t.deepEqual(bySid(read?.policies.TanukiStsPlain), reads,
    'ConsoleReadRole: its logs, and reads of the mappings, the audit and the issuer keys (tables as deployed)')
  t.deepEqual(bySid(write?.policies.TanukiStsPlain), {
    ...reads,
    ConsoleWriteMappings: ['Allow', ['dynamodb:PutItem'], [arn('MappingsTable')]],
    ConsoleRecordChanges: ['Allow', ['dynamodb:PutItem', 'dynamodb:UpdateItem'], [arn('AuditTable')]],
  }, 'ConsoleWriteRole: the same, and PutItem of a mapping, PutItem / UpdateItem of its audit record; nothing deletes')
  // Whoever can put a key item can make the broker accept tokens they sign (SECURITY.md, "Issuer keys in a table").
  const keysTable = staging.tables.IssuerKeysTable?.name ?? 'IssuerKeysTable'
  const touching = Object.entries(staging.roles).filter(([, r]) => JSON.stringify(r.policies).includes(keysTable)).map(([name]) => name)
  t.deepEqual(touching.sort(), ['ConsoleReadRole', 'ConsoleWriteRole', 'Role'],
    'the issuer-keys table is named in Role\'s policies and the console\'s (its Explain verifies as the broker does)')
  const writers = Object.entries(staging.roles).filter(([, r]) => Object.values(r.policies).flatMap(statements)
    .some(st => JSON.stringify(st.Resource).includes(keysTable) && actions(st).some(a => !['dynamodb:GetItem', 'dynamodb:BatchGetItem'].includes(a))))
    .map(([name]) => name)
  t.deepEqual(writers, ['Role'], 'only Role may write it (and only key items)')
})

test('the deployed stack: three tables, with their keys, the byProject index, TTL, point-in-time recovery and deletion protection', async t => {
  const { MappingsTable: mappings, AuditTable: audit, IssuerKeysTable: keys } = staging.tables
  t.deepEqual(Object.keys(staging.tables).sort(), ['AuditTable', 'IssuerKeysTable', 'MappingsTable'], 'three tables')
  t.deepEqual(mappings?.keys, [{ AttributeName: 'scope', KeyType: 'HASH' }, { AttributeName: 'role', KeyType: 'RANGE' }], 'mappings: keyed by scope and role')
  t.deepEqual(audit?.keys, [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], 'audit: keyed by pk and sk')
  t.deepEqual(keys?.keys, [{ AttributeName: 'issuer', KeyType: 'HASH' }], 'issuer-keys: keyed by issuer alone')
  t.deepEqual(audit?.indexes, { byProject: [{ AttributeName: 'project', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }] },
    'audit: the byProject index')
  t.deepEqual(audit?.projections, { byProject: { ProjectionType: 'KEYS_ONLY' } }, 'audit: the index keeps keys only')
  t.deepEqual([mappings?.indexes, keys?.indexes], [{}, {}], 'mappings and issuer-keys: no index')
  t.deepEqual(audit?.ttl, { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' }, 'audit: TTL on expiresAt')
  t.deepEqual([mappings?.ttl.TimeToLiveStatus, keys?.ttl.TimeToLiveStatus], ['DISABLED', 'DISABLED'], 'mappings and issuer-keys: no TTL')
  for (const [name, table] of Object.entries(staging.tables)) {
    t.equal(table.pitr, 'ENABLED', `${name}: point-in-time recovery on`)
    t.equal(table.deletionProtection, true, `${name}: deletion protection on`)
  }
  const topic = staging.topics.CredentialsIssuedEventTopic?.arn
  t.deepEqual(staging.parameters, {
    [`/${STAGING}/tables/mappings`]: mappings?.name, [`/${STAGING}/tables/audit`]: audit?.name, [`/${STAGING}/tables/issuer-keys`]: keys?.name,
    [`/${STAGING}/events/credentials-issued`]: topic,
  }, 'SSM names the tables and the topic, where the CLI\'s --region --env looks them up')
  for (const [name, f] of Object.entries(staging.functions)) {
    const e = f.environment
    t.deepEqual([e.BROKER_TABLE_MAPPINGS, e.BROKER_TABLE_AUDIT, e.BROKER_TABLE_ISSUER_KEYS, e.BROKER_EVENTS_TOPIC, e.BROKER_METRICS_NAMESPACE,
      e.BROKER_METRICS_PER_PROJECT, e.ARC_ENV],
    [mappings?.name, audit?.name, keys?.name, topic, `TanukiSts/${STAGING}`, 'off', 'staging'],
      `${name}: the table names, the topic ARN, the metrics namespace (per-project off), ARC_ENV staging`)
  }
})

test('the deployed stack: the credentials-issued topic with the event Lambda subscribed, and the HTTP API\'s routes and throttling', async t => {
  const topic = staging.topics.CredentialsIssuedEventTopic
  const eventFn = staging.functions.CredentialsIssuedEventLambda?.name ?? ''
  t.deepEqual(topic?.subscriptions.map(s => [s.protocol, s.endpoint.endsWith(`:function:${eventFn}`)]), [['lambda', true]],
    'one subscription: the event Lambda')
  const apis = Object.values(staging.apis)
  t.equal(apis.length, 1, 'one HTTP API')
  const routes = apis[0]?.routes ?? {}
  const target = (route: string) => Object.entries(staging.functions).find(([, f]) => routes[route]?.includes(`:function:${f.name}/`))?.[0]
  t.deepEqual(Object.keys(routes).sort().map(r => [r, target(r)]), [
    ['ANY /{proxy+}', 'AnyCatchallHTTPLambda'], ['GET /console', 'GetConsoleHTTPLambda'], ['GET /console/{proxy+}', 'GetConsoleCatchallHTTPLambda'],
    ['GET /credentials', 'GetCredentialsHTTPLambda'], ['GET /healthz', 'GetHealthzHTTPLambda'],
    ['POST /console/{proxy+}', 'PostConsoleCatchallHTTPLambda'], ['POST /credentials', 'PostCredentialsHTTPLambda'],
  ], 'seven routes, the console\'s three among them, each to its Lambda')
  const stage = apis[0]?.stages.$default
  t.deepEqual(stage?.defaultRouteSettings, { ThrottlingBurstLimit: 500, ThrottlingRateLimit: 100 },
    'the $default stage throttles every route: 100 a second, bursts of 500')
  t.equal(stage?.accessLogSettings, null, 'no access log (opt-in)')
})

/** A metric as one line: `namespace metric {dimension=value,...} stat/period`. */
const metricLine = (m: { Namespace?: string; MetricName?: string; Dimensions?: Array<{ Name: string; Value: string }> }, stat?: string, period?: number) =>
  `${m.Namespace} ${m.MetricName} {${(m.Dimensions ?? []).map(d => `${d.Name}=${d.Value}`).join(',')}} ${stat}/${period}`
/** A metric-math query as one line: `id: <metric line>`, or `id = expression`. */
const query = (q: MetricQuery) => q.MetricStat
  ? `${q.Id}: ${metricLine(q.MetricStat.Metric, q.MetricStat.Stat, q.MetricStat.Period)}`
  : `${q.Id} = ${q.Expression}`
/** An alarm on one metric as one line: `<metric line> >= threshold`. */
const single = (a: DeployedAlarm | undefined) => `${metricLine(a ?? {}, a?.Statistic, a?.Period)} >= ${a?.Threshold}`
const ALARMS = {
  AlarmServerErrorRate: 'server-error-rate', AlarmUpstreamErrors: 'upstream-errors', AlarmAuditFailures: 'audit-failures',
  AlarmThrottling: 'throttling', AlarmEventLambdaErrors: 'event-lambda-errors',
}
/** Each alarm's name, and where its alarm and recovery go. */
const alarmTargets = (stack: DeployedStack) => Object.fromEntries(Object.entries(stack.alarms).map(([id, a]) => [id,
  [a.AlarmName, a.AlarmActions, a.OKActions]]))
const expectedTargets = (stack: DeployedStack) => Object.fromEntries(Object.entries(ALARMS).map(([id, name]) => {
  const topic = [stack.topics.AlarmTopic?.arn]
  return [id, [`${stack.name}-${name}`, topic, topic]]
}))

test('the deployed stack: five alarms on the deployed API, functions and tables and the broker\'s metrics, each to the alarm topic', async t => {
  const { alarms, functions: fn } = staging
  const ns = fn.PostCredentialsHTTPLambda?.environment.BROKER_METRICS_NAMESPACE
  const apiId = Object.values(staging.apis)[0]?.id
  t.ok(staging.topics.AlarmTopic, 'an alarm topic of the stack\'s own (no alarm-topic set)')
  t.deepEqual(staging.topics.AlarmTopic?.subscriptions, [], 'with no subscription (no alarm-email set)')
  t.deepEqual(alarmTargets(staging), expectedTargets(staging), 'five alarms named after the stack, each alarm and recovery sent to the alarm topic')
  for (const [id, a] of Object.entries(alarms)) {
    t.deepEqual([a.ComparisonOperator, a.EvaluationPeriods, a.DatapointsToAlarm, a.TreatMissingData, a.InsufficientDataActions],
      ['GreaterThanOrEqualToThreshold', 1, 1, 'notBreaching', []], `${id}: one period at or over the threshold alarms; no data is no alarm`)
    t.match(String(a.AlarmDescription), /What to do: docs\/operations\.md#[a-z-]+\.$/, `${id}: its description says where the runbook is`)
  }
  t.equal(single(alarms.AlarmUpstreamErrors), `${ns} UpstreamErrors {} Sum/300 >= 3`,
    'upstream errors: the broker\'s UpstreamErrors, in the namespace the Lambdas write to')
  t.equal(single(alarms.AlarmAuditFailures), `${ns} AuditFailures {} Sum/300 >= 1`, 'audit failures: the broker\'s AuditFailures, from one')
  t.equal(single(alarms.AlarmEventLambdaErrors), `AWS/Lambda Errors {FunctionName=${fn.CredentialsIssuedEventLambda?.name}} Sum/300 >= 1`,
    'event Lambda errors: Lambda\'s Errors of the deployed event function')

  const rate = alarms.AlarmServerErrorRate
  t.deepEqual([rate?.Metrics.map(query), rate?.Metrics.map(q => q.ReturnData), rate?.Threshold], [[
    `errors: AWS/ApiGateway 5xx {ApiId=${apiId}} Sum/300`, `requests: AWS/ApiGateway Count {ApiId=${apiId}} Sum/300`,
    'rate = IF(requests >= 10, 100 * errors / requests, 0)',
  ], [false, false, true], 5], 'server error rate: metric math on the deployed API\'s 5xx and Count, the rate alone its value, from 5%')

  const throttling = alarms.AlarmThrottling?.Metrics ?? []
  const series = throttling.filter(q => q.MetricStat)
  const watched = series.map(q => q.MetricStat && metricLine(q.MetricStat.Metric, q.MetricStat.Stat, q.MetricStat.Period))
  const tables = ['MappingsTable', 'AuditTable', 'IssuerKeysTable'].map(id => staging.tables[id]?.name)
  t.deepEqual(watched, [
    ...['PostCredentialsHTTPLambda', 'GetCredentialsHTTPLambda'].map(id => `AWS/Lambda Throttles {FunctionName=${fn[id]?.name}} Sum/300`),
    ...tables.flatMap(name => ['Read', 'Write'].map(op => `AWS/DynamoDB ${op}ThrottleEvents {TableName=${name}} Sum/300`)),
    `${ns} UpstreamErrors {StsCode=Throttling} Sum/300`,
  ], 'throttling: the credentials functions\' throttles, every deployed table\'s throttled reads and writes, and STS\'s Throttling')
  const sum = throttling.filter(q => q.ReturnData)
  t.deepEqual(sum.map(q => q.Expression), [series.map(q => `FILL(${q.Id}, 0)`).join(' + ')], 'its value: their sum, a missing series as 0')
  t.ok(throttling.length <= 10, `${throttling.length} queries: within the 10 an alarm may have`)
})

test('the deployed stack: the dashboard shows the five alarms and the metrics of the deployed resources', async t => {
  const dashboards = Object.values(staging.dashboards)
  t.deepEqual(dashboards.map(d => d.name), [STAGING], 'one dashboard, named after the stack')
  const body = dashboards[0]?.body ?? { widgets: [] }
  t.notOk(JSON.stringify(body).includes('${'), 'every ${...} of its Fn::Sub was resolved')
  t.deepEqual(body.widgets[0]?.properties.alarms, Object.values(staging.alarms).map(a => a.AlarmArn), 'the first widget: the five alarms, by their ARNs')
  t.ok(body.widgets.every(w => w.type !== 'metric' || w.properties.region === REGION), `every metric widget in ${REGION}`)
  // A metric row is [namespace, metric, (dimension, value)..., {options}?], or [{ expression: SEARCH(...) }].
  const rows = body.widgets.flatMap(w => (w.properties.metrics ?? []) as unknown[][])
  const ns = staging.functions.PostCredentialsHTTPLambda?.environment.BROKER_METRICS_NAMESPACE ?? ''
  t.deepEqual([...new Set(rows.map(r => r[0]).filter(x => typeof x === 'string'))].sort(), ['AWS/ApiGateway', 'AWS/DynamoDB', 'AWS/Lambda', ns],
    `AWS's metrics, and the broker's in the namespace its Lambdas write to (${ns})`)
  const searches = rows.map(r => (r[0] as { expression?: string }).expression).filter(e => e !== undefined)
  t.ok(searches.length > 0 && searches.every(e => e.startsWith(`SEARCH('{"${ns}",`)), 'its searches (by role, condition, reason...) in that namespace too')
  const deployed: Record<string, string[]> = {
    FunctionName: Object.values(staging.functions).map(f => f.name),
    TableName: Object.values(staging.tables).map(tb => tb.name),
    ApiId: Object.values(staging.apis).map(a => a.id),
  }
  const named = rows.filter(r => typeof r[2] === 'string' && r[2] in deployed)
  t.deepEqual([...new Set(named.map(r => r[2]))].sort(), ['ApiId', 'FunctionName', 'TableName'], 'rows by API, function and table')
  t.deepEqual(named.filter(r => !deployed[String(r[2])]?.includes(String(r[3]))), [], 'each naming a deployed API, function or table')
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
  t.deepEqual(staging.tables.IssuerKeysTable?.items, [], 'nor the issuer-keys table')
})

test('issuers keys push, through --region --env, stores a key set in the deployed issuer-keys table, as an item the key-item statement admits', async t => {
  // A JWK set saved from <issuer>/oauth/discovery/keys (here the local issuer's), pushed for a GitLab the broker cannot reach.
  const file = join(repo.dir, 'gitlab-keys.json')
  const jwks = await (await fetch(`${env.issuer.url}/oauth/discovery/keys`)).text()
  writeFileSync(file, jwks)
  const issuer = 'https://gitlab.internal.example'
  // As an admin or a job runs it: credentials in the environment, the emulator's SSM and DynamoDB as the job's mapping step has them.
  const r = await runCli(['issuers', 'keys', 'push', '--issuer', issuer, '--from-file', file, '--region', REGION, '--env', 'staging', '--actor', 'release.bot'],
    {
      PATH: process.env.PATH, HOME: repo.dir, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: 'tanuki-admin', AWS_SECRET_ACCESS_KEY: 'tanuki-admin', AWS_ENDPOINT_URL_SSM: moto.url, AWS_ENDPOINT_URL_DYNAMODB: moto.url,
    })
  t.equal(r.code, 0, `it succeeded${r.code ? `: ${r.stderr}` : ''}`)
  t.match(r.stdout + r.stderr, /Stored \d+ keys? for https:\/\/gitlab\.internal\.example from file:/, 'and said what it stored')
  const items = (await moto.describe(STAGING)).tables.IssuerKeysTable?.items ?? []
  t.deepEqual(items.map(i => [i.issuer, i.source, i.updatedBy]), [[issuer, `file:${file}`, 'release.bot']], 'the item is in the deployed table SSM names')
  t.deepEqual(Object.keys(items[0] ?? {}).sort(), [...KEYS_ITEM_ATTRIBUTES].sort(), 'with exactly the attributes StoreFetchedIssuerKeys admits')
  const kids = (text: unknown) => (JSON.parse(String(text)) as { keys: Array<{ kid: string }> }).keys.map(k => k.kid)
  t.deepEqual(kids(items[0]?.jwks), kids(jwks), 'holding the issuer\'s keys')
})

/** An option's value as check:template's options-on templates set it (ALL_OPTIONS), without quotes. */
const option = (name: string) => ALL_OPTIONS.find(o => o.startsWith(`${name} `))?.slice(name.length + 1).replace(/^"(.*)"$/, '$1') ?? ''

test('a second deploy, after app.arc names a new target role and turns every option on, updates the stack', async t => {
  const arcFile = join(repo.dir, 'app.arc')
  const newRole = 'arn:aws:iam::111122223333:role/gitlab-runners-*'
  // Every option on, as in the options-on templates npm run check:template lints; each is checked below.
  t.deepEqual(ALL_OPTIONS.map(o => o.split(' ')[0]).sort(), ['access-log-retention-days', 'alarm-email', 'log-retention-days', 'metrics-per-project',
    'permissions-boundary', 'throttle-burst', 'throttle-rate'], 'every option check:template turns on is deployed here, and checked')
  writeFileSync(arcFile, withOptions(readFileSync(arcFile, 'utf8').replace(/^(target-roles .*)$/m, `$1 ${newRole}`), ALL_OPTIONS))
  const r = await runDeployStaging(await env.mint({ ...PROJECT, job_id: '7000000005' }, { audience: env.url }))
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  const updated = await moto.describe(STAGING)
  t.equal(updated.status, 'UPDATE_COMPLETE', `${STAGING} reached UPDATE_COMPLETE`)
  t.deepEqual(statements(updated.roles.Role?.policies.TanukiStsPolicy).flatMap(s => [s.Resource].flat()), [...readTargetRoles(ROOT) ?? [], newRole],
    'Role may now assume the new target role too')
  t.deepEqual(Object.keys(updated.tables).map(k => updated.tables[k]?.name), Object.keys(staging.tables).map(k => staging.tables[k]?.name),
    'the same tables: nothing replaced')
  t.deepEqual([updated.tables.MappingsTable?.items.length, updated.tables.IssuerKeysTable?.items.length], [1, 1],
    'still holding the mapping and the pushed keys')

  // permissions-boundary: on every role of the stack.
  const boundary = option('permissions-boundary')
  t.deepEqual(Object.entries(updated.roles).map(([name, role]) => [name, role.boundary]), Object.keys(updated.roles).map(name => [name, boundary]),
    'permissions-boundary: every role carries it')
  // log-retention-days: each function logs to a group of the stack's own, kept that long.
  const days = Number(option('log-retention-days'))
  for (const [name, f] of Object.entries(updated.functions)) {
    const group = updated.logGroups[`${name}Logs`]
    t.ok(group && f.loggingConfig?.LogGroup === group.name && group.retentionInDays === days,
      `log-retention-days: ${name} logs to ${group?.name}, kept ${days} days`)
  }
  // access-log-retention-days: the stage's access log goes to its group.
  const access = updated.logGroups.HttpAccessLogs
  t.deepEqual([access?.name, access?.retentionInDays], [`/aws/vendedlogs/${STAGING}-access`, Number(option('access-log-retention-days'))],
    'access-log-retention-days: the access log group, kept that long')
  const stage = Object.values(updated.apis)[0]?.stages.$default
  t.ok(stage?.accessLogSettings?.DestinationArn.includes(`:log-group:/aws/vendedlogs/${STAGING}-access`), 'the $default stage logs each request there')
  t.ok(stage?.accessLogSettings && !/header|authorization/i.test(stage.accessLogSettings.Format), 'in a format with no header, so no token')
  // throttle-rate, throttle-burst: the stage's limits.
  t.deepEqual(stage?.defaultRouteSettings, { ThrottlingBurstLimit: Number(option('throttle-burst')), ThrottlingRateLimit: Number(option('throttle-rate')) },
    'throttle-rate and throttle-burst: the $default stage\'s limits')
  // alarm-email: the address subscribed to the alarm topic, which the alarms still go to.
  t.deepEqual(updated.topics.AlarmTopic?.subscriptions.map(s => [s.protocol, s.endpoint]), [['email', option('alarm-email')]],
    'alarm-email: the address subscribed to the alarm topic by e-mail')
  t.equal(updated.topics.AlarmTopic?.arn, staging.topics.AlarmTopic?.arn, 'the same alarm topic')
  t.deepEqual(alarmTargets(updated), expectedTargets(updated), 'the five alarms still go to it')
  // metrics-per-project: every Lambda is told to add the Project dimension.
  t.deepEqual(Object.values(updated.functions).map(f => f.environment.BROKER_METRICS_PER_PROJECT),
    Object.keys(updated.functions).map(() => option('metrics-per-project')),
    'metrics-per-project: every function has BROKER_METRICS_PER_PROJECT on')
})

test('deploy-production deploys its own stack, beside staging\'s', async t => {
  const production = { ...PROJECT, ref: 'v1.4.0', ref_type: 'tag', environment: 'production', deployment_tier: 'production' }
  const r = await runDeploy('deploy-production', await env.mint({ ...production, job_id: '7000000006' }, { audience: env.url }))
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(after(r.output, '$ $TANUKI_DEPLOY_COMMAND --production\n').includes(`| Stack ... ${PRODUCTION}\n`),
    `it ran ${DEPLOY_COMMAND} --production, for ${PRODUCTION}`)
  const prod = await moto.describe(PRODUCTION)
  t.equal(prod.status, 'CREATE_COMPLETE', `${PRODUCTION} reached CREATE_COMPLETE`)
  const names = (stack: DeployedStack) => Object.values(stack.tables).map(tb => tb.name)
  t.ok(names(prod).every(n => n.startsWith(`${PRODUCTION}-`) && !names(staging).includes(n)), `its own tables: ${names(prod).join(', ')}`)
  t.ok(Object.values(prod.functions).every(f => f.environment.ARC_ENV === 'production' && f.runtime === 'nodejs22.x'),
    'its functions run nodejs22.x with ARC_ENV production')
  t.equal(prod.tables.MappingsTable?.items.length, 1, 'the mapping step applied the mapping file to production\'s table')
  // Alarm names are unique in an account and region, dashboard names in an account: the stack's name keeps them apart.
  t.deepEqual(alarmTargets(prod), expectedTargets(prod), `its own five alarms, named after ${PRODUCTION}, to its own alarm topic`)
  t.deepEqual(Object.values(prod.dashboards).map(d => d.name), [PRODUCTION], 'its own dashboard')
  const stagingNow = await moto.describe(STAGING)
  t.equal(stagingNow.status, 'UPDATE_COMPLETE', 'staging\'s stack is untouched')
  t.deepEqual(alarmTargets(stagingNow), expectedTargets(stagingNow), 'and so are its alarms')
  t.deepEqual(Object.values(stagingNow.dashboards).map(d => d.name), [STAGING], 'and its dashboard')
})

test('the documented mapping: a protected v* tag deploying production is let through, a protected feature branch is not', async t => {
  const post = async (claims: Record<string, string>) =>
    (await postTo(env.url, await env.mint({ ...PROJECT, ...claims }, { audience: env.url }), `role=${ROLE}`)).status
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
