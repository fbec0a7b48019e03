// The broker's own pipeline, run for real: gitlab-ci-local runs .gitlab-ci.yml's deploy-staging job on this machine
// against the local broker and local STS. Only the final deploy command is swapped (for the offline `npm run synth`).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { parse } from 'yaml'
import { eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { docSnippet } from '../helpers/doc-snippets'
import { createPipelineRepo } from '../helpers/gitlab-ci-local'
import type { JobRun, PipelineRepo } from '../helpers/gitlab-ci-local'
import { post as postTo } from '../helpers/post'

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

let env: BrokerEnv
let repo: PipelineRepo

async function runDeployStaging (token: string, brokerUrl = env.url): Promise<JobRun> {
  const r = await repo.run(['deploy-staging'], {
    BROKER_ID_TOKEN: token, // what GitLab's `id_tokens:` sets; gitlab-ci-local does not mint ID tokens
    TANUKI_STS_URL: brokerUrl,
    TANUKI_STS_DEPLOY_ROLE: ROLE,
    AWS_ENDPOINT_URL_STS: env.sts.url,
    TANUKI_DEPLOY_COMMAND: 'npm run synth --',
  })
  if (process.env.TANUKI_TEST_VERBOSE) console.log(r.output)
  return r
}

const tail = (output: string) => output.trim().split('\n').slice(-15).map(l => `    ${l}`).join('\n')

test('Set up env', async t => {
  env = await startBrokerEnv({ env: { BROKER_AUDIENCE: BROKER_URL } })
  repo = createPipelineRepo()
  await env.putMapping({ ...DEPLOY_MAPPING, scope: String(DEPLOY_MAPPING.scope).replace('https://gitlab.com', env.issuer.url) })
  t.equal(DEPLOY_MAPPING.scope, `https://gitlab.com/${PROJECT.project_path}`, 'the documented mapping is for this project')
  t.equal(env.url, BROKER_URL, `broker running at ${env.url}`)
  t.ok(repo.dir, `pipeline repo copied to ${repo.dir}`)
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
  t.match(r.output, /wrote sam\.json: \d+ resources/, 'the deploy command ran after that, with the credentials in place')
  t.ok(r.output.includes('no mappings/*.yaml to apply'), 'the mappings step ran and found no mapping files')

  const records = (await env.auditRecords()).filter(a => a.job_id === jobId)
  t.equal(records.length, 1, 'the audit table has one record for this job id')
  t.equal(records[0]?.outcome, 'issued', 'an issuance')
  t.equal(records[0]?.roleArn, ROLE_ARN, 'of the deploy role')
  t.equal(records[0]?.project_path, PROJECT.project_path, 'to this project')
  t.notOk(r.output.includes(token), 'the ID token never appears in the job log')
})

test('the documented mapping: a protected v* tag deploying production is let through, a protected feature branch is not', async t => {
  const post = async (claims: Record<string, string>) => (await postTo(env.url, await env.mint({ ...PROJECT, ...claims }, { audience: env.url }), `role=${ROLE}`)).status
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
  t.notOk(/wrote sam\.json/.test(r.output), 'nothing was deployed')
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
  // Let the event Lambda finish the issuance's record before the sandbox goes away under it.
  await eventually(async () => (await env.auditRecords()).every(a => a.outcome !== 'issued' || a.accessKeyId) || undefined)
  repo.remove()
  await env.stop()
  t.pass('stopped')
})
