// The aws-credentials CI/CD component (templates/aws-credentials/) and the merge-request review of mappings, run for
// real: gitlab-ci-local runs the jobs on this machine (shell executor) against the local broker and local STS, and the
// AWS CLI in each job proves what it got (`aws sts get-caller-identity`, its signature checked by the local STS).
// A new project takes the component the Catalog way, fetched over git's smart HTTP at a release tag; this project tests
// it the way GitLab's docs say a component project does: `$CI_SERVER_FQDN/$CI_PROJECT_PATH/NAME@$CI_COMMIT_SHA`.
// gitlab-ci-local (4.65.0) resolves `include: component:` itself: from this repository's own files when the project
// path is its own and the ref its HEAD commit, else by cloning the project from the origin's host at the ref (over
// http(s): `git clone --depth=1 --filter=tree:0`) into .gitlab-ci-local/includes. It does not mint ID tokens (the tests
// set TANUKI_STS_ID_TOKEN, as GitLab's id_tokens would), nor apply an input's `regex` or interpolation functions.
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { parse, parseAllDocuments } from 'yaml'
import { eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { docSnippet } from '../helpers/doc-snippets'
import { e2eJobPath } from '../helpers/e2e-tools'
import { startFakeAws } from '../helpers/fake-aws'
import type { FakeAws } from '../helpers/fake-aws'
import { startGitServer } from '../helpers/git-http'
import type { GitServer } from '../helpers/git-http'
import { REMOTE, createPipelineRepo, createProjectRepo } from '../helpers/gitlab-ci-local'
import type { JobRun, PipelineRepo } from '../helpers/gitlab-ci-local'

const BASE = Number(process.env.TANUKI_TEST_PORT_BASE || 3430)
// The broker's URL is the ID token's audience (the component's id_tokens), so the broker must expect it.
const BROKER_URL = `http://localhost:${BASE}`
// The port after the broker's four (BASE..BASE+3).
const GIT_PORT = BASE + 4
// SSM for the review job's --region/--env target: it names the stack's tables, checking each signature.
const SSM_PORT = BASE + 5

// This project (the copy gitlab-ci-local sees as tanuki/tanuki-sts) and the new project of the docs' example.
const SELF = { project_path: 'tanuki/tanuki-sts', project_id: '6100001', namespace_path: 'tanuki', namespace_id: '6100', ref: 'main', ref_type: 'branch', ref_protected: 'true' }
const NEW_PROJECT = { project_path: 'acme/new-project', project_id: '6200001', namespace_path: 'acme', namespace_id: '6200', ref: 'main', ref_type: 'branch', ref_protected: 'true' }
const DEPLOY_ARN = 'arn:aws:iam::111122223333:role/gitlab-deploy'
// Another account: several accounts in one job.
const READ_ONLY_ARN = 'arn:aws:iam::444455556666:role/gitlab-readonly'
const NEW_PROJECT_ARN = 'arn:aws:iam::111122223333:role/gitlab-new-project-deploy'
const arnOf = (roleArn: string, project: { project_id: string }, jobId: string) =>
  `arn:aws:sts::${roleArn.split(':')[4]}:assumed-role/${roleArn.split('/')[1]}/gitlab-${project.project_id}-${jobId}`

let env: BrokerEnv
let repo: PipelineRepo
let git: GitServer
let gitRoot: string
let ssm: FakeAws | undefined

const sh = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim()
const tail = (output: string) => output.trim().split('\n').slice(-25).map(l => `    ${l}`).join('\n')
const whoami = 'aws sts get-caller-identity --endpoint-url "$AWS_ENDPOINT_URL_STS"'

/** What every job gets from GitLab and the runner here: the ID token (what id_tokens sets), the group's TANUKI_STS_URL, AWS_REGION. */
const jobVariables = (token: string) => ({
  TANUKI_STS_ID_TOKEN: token,
  TANUKI_STS_URL: BROKER_URL,
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_STS: env.sts.url,
})

/** The jobs this project tests its component with: one include per way of using it, each under its own job name. */
const TEST_PIPELINE = 'component-test.gitlab-ci.yml'
function testPipeline (): string {
  const include = (jobName: string, inputs: Record<string, string | number>) =>
    `  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/aws-credentials@$CI_COMMIT_SHA\n    inputs:\n` +
    Object.entries({ ...inputs, 'job-name': jobName }).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}\n`).join('')
  const job = (name: string, template: string, script: string[]) =>
    `${name}:\n  extends: ${template}\n  script:\n${script.map(l => `    - ${JSON.stringify(l)}\n`).join('')}`
  return [
    'include:',
    include('.shell', { role: 'deploy' }),
    include('.container', { role: 'deploy', mode: 'container' }),
    include('.profile', { role: 'deploy', mode: 'profile' }),
    include('.profiles', { role: 'deploy', mode: 'profile', roles: 'read-only' }),
    include('.shell-and-profile', { role: 'deploy', roles: 'audit=read-only', duration: 900 }),
    include('.refused', { role: 'not-mapped' }),
    include('.refused-profile', { role: 'deploy', mode: 'profile', roles: 'read-only not-mapped' }),
    include('.unreachable', { role: 'deploy', 'broker-url': 'http://127.0.0.1:9' }),
    include('.plain-http', { role: 'deploy', 'broker-url': 'http://sts.example.com' }),
    include('.bad-roles', { role: 'deploy', roles: 'read-only *' }),
    include('.twice', { role: 'deploy', mode: 'profile', roles: 'deploy=read-only' }),
    include('visible', { role: 'deploy', stage: 'deploy' }),
    '',
    // A visible job-name: the project gives the component's job its script by naming a job the same (GitLab merges them).
    `visible:\n  script:\n    - ${JSON.stringify(whoami)}\n`,
    job('shell', '.shell', ['echo "AWS_SESSION_TOKEN is ${#AWS_SESSION_TOKEN} characters"', whoami]),
    job('container', '.container', ['test -z "${AWS_ACCESS_KEY_ID:-}" && echo "no keys in the environment"', 'echo "FULL_URI=$AWS_CONTAINER_CREDENTIALS_FULL_URI"', whoami, whoami]),
    job('profile', '.profile', ['echo "AWS_PROFILE=$AWS_PROFILE"', whoami]),
    job('two-roles', '.profiles', [whoami, `${whoami} --profile read-only`, `AWS_PROFILE=read-only ${whoami}`]),
    job('shell-and-profile', '.shell-and-profile', [whoami, `${whoami} --profile audit`]),
    job('refused', '.refused', ['echo "THE SCRIPT RAN"']),
    job('refused-profile', '.refused-profile', ['echo "THE SCRIPT RAN"']),
    job('unreachable', '.unreachable', ['echo "THE SCRIPT RAN"']),
    job('plain-http', '.plain-http', ['echo "THE SCRIPT RAN"']),
    job('bad-roles', '.bad-roles', ['echo "THE SCRIPT RAN"']),
    job('twice', '.twice', ['echo "THE SCRIPT RAN"']),
  ].join('\n')
}

async function runJob (name: string, jobId: string): Promise<{ r: JobRun; token: string }> {
  const token = await env.mint({ ...SELF, job_id: jobId }, { audience: BROKER_URL })
  const r = await repo.run([name], jobVariables(token), TEST_PIPELINE)
  if (process.env.TANUKI_TEST_VERBOSE) console.log(r.output)
  return { r, token }
}

/** Issuances for a job id: the audit table's records (every one audited) and what the local STS assumed. */
async function issuedFor (jobId: string) {
  const records = (await env.auditRecords()).filter(a => a.job_id === jobId)
  const assumed = env.sts.issued.filter(i => i.roleSessionName.endsWith(`-${jobId}`))
  return { records, assumed }
}

test('Set up env', async t => {
  env = await startBrokerEnv({ env: { BROKER_AUDIENCE: BROKER_URL } })
  const scope = (p: { project_path: string }) => `${env.issuer.url}/${p.project_path}`
  await env.putMapping({ scope: scope(SELF), role: 'deploy', roleArn: DEPLOY_ARN, pin: { project_id: SELF.project_id } })
  await env.putMapping({ scope: scope(SELF), role: 'read-only', roleArn: READ_ONLY_ARN, pin: { project_id: SELF.project_id } })
  await env.putMapping({ scope: scope(NEW_PROJECT), role: 'deploy', roleArn: NEW_PROJECT_ARN, pin: { project_id: NEW_PROJECT.project_id } })
  await env.putMapping({ scope: scope(NEW_PROJECT), role: 'read-only', roleArn: READ_ONLY_ARN, pin: { project_id: NEW_PROJECT.project_id } })
  repo = createPipelineRepo()
  writeFileSync(join(repo.dir, TEST_PIPELINE), testPipeline())
  gitRoot = mkdtempSync(join(tmpdir(), 'tanuki-git-'))
  git = await startGitServer(gitRoot, GIT_PORT)
  t.equal(env.url, BROKER_URL, `broker running at ${env.url}`)
  t.ok(repo.dir, `pipeline repo copied to ${repo.dir}`)
  t.equal(git.url, `http://127.0.0.1:${GIT_PORT}`, `git server at ${git.url}`)
})

/** The component's release as the new project fetches it: `$CI_SERVER_FQDN/<path>/aws-credentials@<version>` of the docs. */
let release: { path: string; version: string }

/** Localizes a documented pipeline or config: the broker URL becomes the local one, `aws` gets the local STS. */
const localize = (text: string) => text.split('https://sts.example.com').join(BROKER_URL)
  .replace(/^(\s*- (?:AWS_PROFILE=\S+ )?aws .*)$/gm, '$1 --endpoint-url "$AWS_ENDPOINT_URL_STS"')

/** Runs one job of a new project (acme/new-project) whose files are these, as GitLab would with an ID token for it. */
async function runNewProject (files: Record<string, string>, jobName: string, jobId: string) {
  const project = createProjectRepo({ ...files, 'README.md': '# a new project\n' }, `${git.url}/${NEW_PROJECT.project_path}.git`)
  try {
    const token = await env.mint({ ...NEW_PROJECT, job_id: jobId }, { audience: BROKER_URL })
    const r = await project.run([jobName], { ...jobVariables(token), BROKER_ID_TOKEN: token })
    if (process.env.TANUKI_TEST_VERBOSE) console.log(r.output)
    const fetched = join(project.dir, '.gitlab-ci-local', 'includes', '127.0.0.1', release.path, release.version, 'templates', 'aws-credentials', 'template.yml')
    return { r, token, fetched: existsSync(fetched) ? readFileSync(fetched, 'utf8') : undefined }
  }
  finally { project.remove() }
}

test('a new project: the include and one input of docs/gitlab-component.md, as written, give its job the mapped role', async t => {
  const snippet = docSnippet('component-include')
  const include = (parse(snippet) as { include: Array<{ component: string; inputs: Record<string, unknown> }> }).include
  t.deepEqual(include.map(i => Object.keys(i.inputs)), [['role']], 'one include, with one input: the role')
  const m = /^\$CI_SERVER_FQDN\/(.+)\/aws-credentials@(\d+\.\d+\.\d+)$/.exec(include[0].component)
  t.ok(m, `the component is addressed as the Catalog does: ${include[0].component}`)
  release = { path: m?.[1] ?? 'platform/tanuki-sts', version: m?.[2] ?? '1.0.0' }

  // The release: this worktree's component, as a bare repository with the version's tag, on the git server.
  const bare = join(gitRoot, `${release.path}.git`)
  mkdirSync(join(bare, '..'), { recursive: true })
  sh(gitRoot, 'clone', '-q', '--bare', repo.dir, bare)
  sh(bare, 'tag', release.version, 'main')
  sh(bare, 'config', 'uploadpack.allowFilter', 'true')
  sh(bare, 'config', 'uploadpack.allowAnySHA1InWant', 'true')

  const jobId = '7100000001'
  const { r, token, fetched } = await runNewProject({ '.gitlab-ci.yml': localize(snippet) }, 'deploy', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(git.requests.some(q => q.startsWith(`POST /${release.path}.git/git-upload-pack`)), `gitlab-ci-local cloned ${release.path} from the git server`)
  t.equal(fetched, readFileSync(join(repo.dir, 'templates', 'aws-credentials', 'template.yml'), 'utf8'), `at ${release.version}: this worktree's template.yml`)
  t.ok(r.output.includes(`"Arn": "${arnOf(NEW_PROJECT_ARN, NEW_PROJECT, jobId)}"`), 'aws sts get-caller-identity in the job printed the mapped role')
  t.match(r.output, /tanuki-sts: role "deploy" from http:\/\/localhost:\d+: credentials exported, valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/, 'the component said what it did')
  const { records } = await issuedFor(jobId)
  t.deepEqual(records.map(a => `${a.outcome} ${a.roleArn}`), [`issued ${NEW_PROJECT_ARN}`], 'one issuance, audited')
  t.notOk(r.output.includes(token), 'the ID token never appears in the job log')
})

const twoIdentities = (output: string, project: { project_id: string }, jobId: string, deployArn: string) => {
  const deploy = `"Arn": "${arnOf(deployArn, project, jobId)}"`
  const readOnly = `"Arn": "${arnOf(READ_ONLY_ARN, project, jobId)}"`
  return output.split('\n').filter(l => l.includes('"Arn"')).map(l => l.includes(readOnly) ? 'read-only' : l.includes(deploy) ? 'deploy' : l)
}

test('a new project: the roles input of docs/gitlab-component.md, as written: two roles in two accounts in one job', async t => {
  const jobId = '7100000012'
  const { r } = await runNewProject({ '.gitlab-ci.yml': localize(docSnippet('component-roles')) }, 'release', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.deepEqual(twoIdentities(r.output, NEW_PROJECT, jobId, NEW_PROJECT_ARN), ['deploy', 'read-only', 'read-only'],
    'aws sts get-caller-identity: deploy; with --profile audit and with AWS_PROFILE=audit: read-only, in 444455556666')
})

test('a new project, plain curl: the two-profile AWS config and job of docs/gitlab-component.md, as written', async t => {
  const jobId = '7100000013'
  const { r, token } = await runNewProject({
    'ci/aws-config': localize(docSnippet('multi-role-config')) + '\n',
    '.gitlab-ci.yml': localize(docSnippet('multi-role-job')),
  }, 'release', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.deepEqual(twoIdentities(r.output, NEW_PROJECT, jobId, NEW_PROJECT_ARN), ['deploy', 'read-only'], 'AWS_PROFILE=deploy, then --profile audit: two identities')
  t.notOk(r.output.includes(token), 'the ID token never appears in the job log')
})

test('the component adds id_tokens with the broker URL as audience, and nothing global', async t => {
  const template = readFileSync(join(repo.dir, 'templates', 'aws-credentials', 'template.yml'), 'utf8')
  const [header, body] = parseAllDocuments(template).map(d => d.toJS() as Record<string, unknown>)
  const inputs = (header.spec as { inputs: Record<string, { default?: unknown; description?: string; type?: string; options?: unknown[] }> }).inputs
  t.deepEqual(Object.keys(inputs), ['role', 'broker-url', 'mode', 'duration', 'profile', 'roles', 'job-name', 'stage'], 'its inputs')
  t.deepEqual(Object.entries(inputs).filter(([, i]) => !i.description).map(([k]) => k), [], 'each with a description')
  t.deepEqual(Object.entries(inputs).filter(([, i]) => i.default === undefined).map(([k]) => k), ['role'], 'each with a default, but the role')
  t.deepEqual(inputs.mode.options, ['shell', 'container', 'profile'], 'mode: shell, container or profile')
  t.equal(inputs.duration.type, 'number', 'duration: a number')
  t.deepEqual(Object.keys(body), ['$[[ inputs.job-name ]]'], 'one job, named by an input, and no global keyword')
  const preview = await repo.preview(TEST_PIPELINE)
  const aud = (name: string) => (preview[name] as { id_tokens?: Record<string, { aud?: unknown }> }).id_tokens?.TANUKI_STS_ID_TOKEN?.aud
  t.equal(aud('shell'), '$TANUKI_STS_URL', 'a job that extends it: an ID token whose audience is the default broker URL, $TANUKI_STS_URL')
  t.equal(aud('unreachable'), 'http://127.0.0.1:9', 'or the broker-url input')
  t.equal((preview['shell'] as { stage?: unknown }).stage, 'test', 'stage: the stage input\'s default')
})

test('mode shell: the credentials are exported, and the AWS CLI is the mapped role', async t => {
  const jobId = '7100000002'
  const { r, token } = await runJob('shell', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.match(r.output, /AWS_SESSION_TOKEN is [1-9]\d* characters/, 'AWS_SESSION_TOKEN is set in the job')
  t.ok(r.output.includes(`"Arn": "${arnOf(DEPLOY_ARN, SELF, jobId)}"`), 'aws sts get-caller-identity: the deploy role')
  const { records, assumed } = await issuedFor(jobId)
  t.equal(assumed.length, 1, 'one AssumeRole')
  t.equal(records.length, 1, 'one audit record')
  t.notOk(r.output.includes(token) || assumed.some(a => r.output.includes(a.accessKeyId)), 'neither the ID token nor the access key is in the log')
})

test('a visible job-name and a stage: the component\'s own job, given its script by a job of the same name', async t => {
  const jobId = '7100000015'
  const job = (await repo.preview(TEST_PIPELINE)).visible as { stage?: unknown; before_script?: unknown[]; script?: unknown[] }
  t.equal(job.stage, 'deploy', 'in the stage input\'s stage')
  t.ok(job.before_script?.length === 1 && job.script?.length === 1, 'the component\'s before_script and the project\'s script, merged')
  const { r } = await runJob('visible', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(r.output.includes(`"Arn": "${arnOf(DEPLOY_ARN, SELF, jobId)}"`), 'aws sts get-caller-identity: the deploy role')
})

test('mode container: no keys in the job; the AWS CLI fetches them itself from the broker, with the ID token', async t => {
  const jobId = '7100000003'
  const whoamiBefore = env.sts.calls.GetCallerIdentity
  const { r, token } = await runJob('container', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(r.output.includes('no keys in the environment'), 'no AWS_ACCESS_KEY_ID in the environment')
  t.ok(r.output.includes(`FULL_URI=${BROKER_URL}/credentials?role=deploy&duration=3600`), 'AWS_CONTAINER_CREDENTIALS_FULL_URI is the broker\'s GET /credentials')
  t.equal(r.output.split(`"Arn": "${arnOf(DEPLOY_ARN, SELF, jobId)}"`).length - 1, 2, 'both aws sts get-caller-identity calls: the deploy role')
  t.equal(env.sts.calls.GetCallerIdentity - whoamiBefore, 2, 'each signed with the fetched credentials, verified by the local STS')
  const { records, assumed } = await issuedFor(jobId)
  t.equal(assumed.length, 3, 'three issuances: the check at the start, then one per AWS CLI process')
  t.deepEqual(records.map(a => a.outcome), ['issued', 'issued', 'issued'], 'each audited')
  t.notOk(r.output.includes(token), 'the ID token never appears in the log')
})

test('mode profile: a credential_process profile that AWS_PROFILE selects', async t => {
  const jobId = '7100000004'
  const { r } = await runJob('profile', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(r.output.includes('AWS_PROFILE=deploy'), 'AWS_PROFILE is the role\'s name (the profile input\'s default)')
  t.ok(r.output.includes(`tanuki-sts: role "deploy" from ${BROKER_URL}: profile "deploy" (--profile deploy)`), 'the component named the profile')
  t.ok(r.output.includes(`"Arn": "${arnOf(DEPLOY_ARN, SELF, jobId)}"`), 'aws sts get-caller-identity: the deploy role')
  const { records } = await issuedFor(jobId)
  t.equal(records.length, 2, 'two audited issuances: the check, then the AWS CLI\'s credential_process (sh, the helper, curl)')
})

test('two roles in one job, in two accounts: two identities, switched with --profile and AWS_PROFILE', async t => {
  const jobId = '7100000005'
  const { r } = await runJob('two-roles', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.deepEqual(twoIdentities(r.output, SELF, jobId, DEPLOY_ARN), ['deploy', 'read-only', 'read-only'], 'default profile: deploy in 111122223333; --profile read-only and AWS_PROFILE=read-only: read-only in 444455556666')
  const { assumed } = await issuedFor(jobId)
  t.deepEqual([...new Set(assumed.map(a => a.roleArn))].sort(), [DEPLOY_ARN, READ_ONLY_ARN], 'the local STS assumed both roles')
})

test('mode shell with roles: exported keys for the role, a profile for each other role (--profile)', async t => {
  const jobId = '7100000006'
  const { r } = await runJob('shell-and-profile', jobId)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(r.output.includes(`"Arn": "${arnOf(DEPLOY_ARN, SELF, jobId)}"`), 'without --profile: the exported deploy role')
  t.ok(r.output.includes(`"Arn": "${arnOf(READ_ONLY_ARN, SELF, jobId)}"`), '--profile audit: the read-only role')
  const { assumed } = await issuedFor(jobId)
  t.ok(assumed.length > 0 && assumed.every(a => a.durationSeconds === 900), 'every session for the duration input: 900 s')
})

async function assertStopped (t: test.Test, name: string, jobId: string, message: RegExp) {
  const assumeBefore = env.sts.calls.AssumeRole
  const { r, token } = await runJob(name, jobId)
  t.notEqual(r.code, 0, `the job failed (${r.seconds.toFixed(1)} s)`)
  t.match(r.output, message, 'its log says why')
  t.notOk(r.output.includes('THE SCRIPT RAN'), 'the script never ran')
  t.notOk(r.output.includes(token), 'the ID token is not in the log')
  return { r, assumed: env.sts.calls.AssumeRole - assumeBefore }
}

test('a refused role fails the job at once, with the broker\'s message', async t => {
  const { assumed } = await assertStopped(t, 'refused', '7100000007',
    /tanuki-sts: access_denied: No mapping lets http:\/\/127\.0\.0\.1:\d+\/tanuki\/tanuki-sts use the role "not-mapped"\. .*\(request [\w-]+\)/)
  t.equal(assumed, 0, 'nothing was assumed')
  const records = (await env.auditRecords()).filter(a => a.job_id === '7100000007')
  t.deepEqual(records.map(a => a.outcome), ['denied'], 'the denial is audited')
})

test('with several roles, one refused stops the job at the start, before any tool runs', async t => {
  await assertStopped(t, 'refused-profile', '7100000008', /tanuki-sts: access_denied: No mapping lets .* use the role "not-mapped"/)
})

test('an unreachable broker fails the job at once, before any AWS call', async t => {
  const { r, assumed } = await assertStopped(t, 'unreachable', '7100000009', /tanuki-sts: cannot reach the broker at http:\/\/127\.0\.0\.1:9 \(the curl error above\); no credentials/)
  t.match(r.output, /curl: \(7\) Failed to connect/, 'after curl\'s own error')
  t.equal(assumed, 0, 'nothing was assumed')
})

test('the inputs are checked before the ID token goes anywhere: plain http off this machine, a role list that is not one', async t => {
  const stopped = [
    await assertStopped(t, 'plain-http', '7100000010', /tanuki-sts: the broker URL "http:\/\/sts\.example\.com" must start with https:\/\/ \(http:\/\/ only for localhost\)/),
    await assertStopped(t, 'bad-roles', '7100000011', /tanuki-sts: roles "read-only \*": space-separated ROLE or PROFILE=ROLE entries/),
    await assertStopped(t, 'twice', '7100000016', /tanuki-sts: profile "deploy" is named twice/),
  ]
  t.deepEqual(stopped.map(s => s.assumed), [0, 0, 0], 'nothing was assumed')
  const asked = (await env.auditRecords()).filter(a => ['7100000010', '7100000011', '7100000016'].includes(String(a.job_id)))
  t.equal(asked.length, 0, 'and the broker was not even asked')
})

test('the component\'s script is POSIX sh: /bin/sh runs it (dash on Debian), as a runner on an image without bash would', async t => {
  const preview = await repo.preview(TEST_PIPELINE)
  const job = preview['two-roles'] as { before_script: string[]; script: string[] }
  const jobId = '7100000014'
  const token = await env.mint({ ...SELF, job_id: jobId }, { audience: BROKER_URL })
  const home = mkdtempSync(join(tmpdir(), 'tanuki-sh-'))
  try {
    const r = await new Promise<{ code: number; output: string }>(resolve => {
      execFile('/bin/sh', ['-eu', '-c', [...job.before_script, ...job.script].join('\n')], {
        cwd: home,
        env: { PATH: e2eJobPath(), HOME: home, ...jobVariables(token), AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none') },
        timeout: 120_000,
      }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr }))
    })
    t.equal(r.code, 0, `${realpathSync('/bin/sh')} -eu ran the before_script and the script${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
    t.deepEqual(twoIdentities(r.output, SELF, jobId, DEPLOY_ARN), ['deploy', 'read-only', 'read-only'], 'with the same two identities')
  }
  finally { rmSync(home, { recursive: true, force: true }) }
})

test('release-component: a protected semantic-version tag releases the component with GitLab\'s release keyword, once tested', async t => {
  const tag = async (name: string, isProtected: boolean) => (await repo.list({ CI_COMMIT_TAG: name, CI_COMMIT_REF_NAME: name, CI_COMMIT_REF_PROTECTED: String(isProtected) }, ['CI_COMMIT_BRANCH'])).map(j => j.name)
  t.ok((await tag('1.2.0', true)).includes('release-component'), 'protected tag 1.2.0: released')
  t.notOk((await tag('1.2.0', false)).includes('release-component'), 'unprotected tag 1.2.0: not')
  t.notOk((await tag('v1.2.0', true)).includes('release-component'), 'tag v1.2.0 (the broker\'s release, deploy-production): not')
  t.notOk((await repo.list()).some(j => j.name === 'release-component'), 'the default branch: not')
  const job = (await repo.preview())['release-component'] as { release?: { tag_name?: unknown }; needs?: Array<{ job?: string }> }
  t.equal(job.release?.tag_name, '$CI_COMMIT_TAG', 'release: tag_name $CI_COMMIT_TAG')
  t.deepEqual(job.needs?.map(n => n.job), ['test', 'test-e2e'], 'after the tests')
})

// The merge-request review: this repo's own mappings-review job, on branches of the copy whose `origin` is a bare
// repository on disk (so the job's `git fetch origin` of the target branch is real); gitlab-ci-local still sees the
// project as tanuki/tanuki-sts (its gcl-origin remote).
const TEAM = (extra = '', more = '') => `# yaml-language-server: $schema=../schema/mappings.schema.json
mappings:
  - scope: https://gitlab.com/acme/payments/api
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/gitlab-payments-deploy
    pin: { project_id: "4301877" }
    conditions:
      ref: main
${extra}${more}`
const READ_ONLY = `  - scope: https://gitlab.com/acme/payments/*
    role: read-only
    roleArn: arn:aws:iam::111122223333:role/gitlab-readonly
    pin: { namespace_id: "72815" }
`
const WEB = `mappings:
  - scope: https://gitlab.com/acme/web/**
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/gitlab-web
    pin: none
`
const MR = { CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main' }
let origin: string

/** A merge request's branch: `files` (path -> text, or null to delete) committed on a new branch from main. */
function branch (name: string, files: Record<string, string | null>): void {
  sh(repo.dir, 'checkout', '-q', '-b', name, 'main')
  for (const [path, text] of Object.entries(files)) {
    if (text === null) sh(repo.dir, 'rm', '-q', path)
    else {
      mkdirSync(join(repo.dir, path, '..'), { recursive: true })
      writeFileSync(join(repo.dir, path), text)
      sh(repo.dir, 'add', path)
    }
  }
  sh(repo.dir, '-c', 'user.name=e2e', '-c', 'user.email=e2e@tanuki-sts.invalid', 'commit', '-q', '-m', name)
}

/** Runs the review job of the branch checked out; with no `variables`, as a project without TANUKI_STS_REVIEW_ROLE. */
async function review (variables: Record<string, string> = {}): Promise<{ r: JobRun; artifact: string }> {
  const stsCalls = env.sts.calls.AssumeRole + env.sts.calls.GetCallerIdentity
  const r = await repo.run(['mappings-review'], { ...MR, ...variables })
  if (process.env.TANUKI_TEST_VERBOSE) console.log(r.output)
  if (!variables.TANUKI_STS_REVIEW_ROLE && env.sts.calls.AssumeRole + env.sts.calls.GetCallerIdentity !== stsCalls) throw new Error('the review job called AWS')
  const path = join(repo.dir, '.gitlab-ci-local', 'artifacts', 'mappings-review', 'mappings-plan.txt')
  return { r, artifact: existsSync(path) ? readFileSync(path, 'utf8') : '' }
}

test('mappings-review: in a merge request pipeline that changes mappings/*.yaml only', async t => {
  origin = mkdtempSync(join(tmpdir(), 'tanuki-origin-'))
  sh(origin, 'clone', '-q', '--bare', repo.dir, '.')
  sh(repo.dir, 'remote', 'add', 'gcl-origin', REMOTE)
  sh(repo.dir, 'remote', 'set-url', 'origin', origin)
  branch('mr-docs', { 'docs/note.md': 'a note\n' })
  branch('mr-mappings', { 'mappings/team.yaml': TEAM() })
  const jobs = async (b: string, variables: Record<string, string>) => {
    sh(repo.dir, 'checkout', '-q', b)
    return (await repo.list({ ...variables, CI_COMMIT_BRANCH: b, CI_COMMIT_REF_NAME: b })).map(j => j.name)
  }
  t.ok((await jobs('mr-mappings', MR)).includes('mappings-review'), 'a merge request that changes mappings/team.yaml: the review job')
  t.notOk((await jobs('mr-docs', MR)).includes('mappings-review'), 'one that changes only docs: none')
  t.notOk((await jobs('mr-mappings', { CI_PIPELINE_SOURCE: 'push' })).includes('mappings-review'), 'a branch pipeline (push): none')
})

test('mappings-review fails a merge request with an invalid mapping file, saying where (the target branch has no mappings yet)', async t => {
  branch('mr-invalid', { 'mappings/team.yaml': TEAM().replace('ref: main', 'reff: main') })
  const { r, artifact } = await review()
  const problem = 'mappings/team.yaml:8:7: mappings[0].conditions.reff: "reff" is not a GitLab ID-token claim; did you mean "ref"?'
  t.notEqual(r.code, 0, `the job failed (${r.seconds.toFixed(1)} s)`)
  t.ok(r.output.includes(problem), 'its log names the problem, at its line and column')
  t.equal(artifact, `${docSnippet('review-invalid')}\n`, 'so does the artifact mappings-plan.txt (kept when the job fails), as docs/gitlab-component.md shows it')
  t.notOk(r.output.includes('Plan: '), 'and there is no plan')
})

test('mappings-review passes a valid change and shows its plan against the target branch, in the log and as an artifact', async t => {
  // The target branch: main with mappings/team.yaml (deploy and read-only), pushed to origin.
  sh(repo.dir, 'checkout', '-q', 'main')
  branch('with-mappings', { 'mappings/team.yaml': TEAM('', READ_ONLY) })
  sh(repo.dir, 'push', '-q', 'origin', 'with-mappings:main')
  sh(repo.dir, 'checkout', '-q', '-B', 'main', 'with-mappings')
  sh(repo.dir, 'update-ref', 'refs/remotes/origin/main', 'main')
  // The merge request: deploy gets maxDuration, read-only is dropped, mappings/web.yaml is added.
  branch('mr-valid', { 'mappings/team.yaml': TEAM('    maxDuration: 1800\n'), 'mappings/web.yaml': WEB })
  const { r, artifact } = await review()
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  const plan = [
    '+ create  https://gitlab.com/acme/web/**  deploy',
    '~ update  https://gitlab.com/acme/payments/api  deploy\n    + maxDuration: 1800',
    'Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged.',
    '  = kept    https://gitlab.com/acme/payments/*  read-only',
  ]
  for (const line of plan) t.ok(artifact.includes(line), `the artifact: ${line.split('\n').join(' / ')}`)
  const log = r.output.split('\n').map(l => l.replace(/^mappings-review > /, '')).join('\n')
  t.ok(plan.every(line => log.includes(line)), 'the job log shows the same plan')
  t.ok(artifact.includes('Plan: mappings/team.yaml, mappings/web.yaml against target-branch/mappings/team.yaml'), 'against the target branch\'s files')
  t.ok(artifact.endsWith('\nImpact: skipped (no read access to the audit table: set the CI/CD variable TANUKI_STS_REVIEW_ROLE)\n'),
    'with no TANUKI_STS_REVIEW_ROLE (and no AWS credentials at all), it says the impact was skipped')
  t.equal(artifact, `${docSnippet('review-plan')}\n`, 'the whole artifact is the example of docs/gitlab-component.md')
})

// With a read role: this project's own mappings (for the local issuer's tanuki/tanuki-sts, whose jobs above left audit
// records), changed by a merge request, and the review replaying the last 30 days of them from the sandbox's audit table.
const REVIEW_ROLE = 'mappings-review'
const selfMappings = (deploy: string, more = '') => `mappings:
  - scope: ${env.issuer.url}/${SELF.project_path}
    role: deploy
    roleArn: ${DEPLOY_ARN}
    pin: { project_id: "${SELF.project_id}" }
    conditions:
      ref: ${deploy}
      ref_type: branch
${more}`
const notMapped = () => `  - scope: ${env.issuer.url}/${SELF.project_path}
    role: not-mapped
    roleArn: arn:aws:iam::111122223333:role/gitlab-not-mapped
    pin: { project_id: "${SELF.project_id}" }
`

/** The review job's variables with a read role: the role, the broker, an ID token of a merge-request pipeline, and where its AWS is. */
async function readAccess (role: string, jobId: string) {
  const token = await env.mint({ ...SELF, ref: 'mr-impact', ref_protected: 'false', pipeline_source: 'merge_request_event', job_id: jobId }, { audience: BROKER_URL })
  return {
    token,
    variables: {
      TANUKI_STS_URL: BROKER_URL, TANUKI_STS_REVIEW_ROLE: role, BROKER_ID_TOKEN: token,
      AWS_ENDPOINT_URL_SSM: ssm?.url ?? '', AWS_ENDPOINT_URL_DYNAMODB: `http://localhost:${env.tablesPort}`,
    },
  }
}

test('mappings-review with TANUKI_STS_REVIEW_ROLE: the plan and its impact, the last 30 days replayed with read-only credentials from the broker', async t => {
  // The broker side: the mapping of docs/gitlab-component.md that lets this project's merge-request pipelines read
  // (for this copy's scope and project ID), and the stack's table names in SSM, as Architect publishes them, for the
  // sandbox's tables.
  const documented = (parse(docSnippet('review-role-mapping')) as { mappings: Array<Record<string, unknown>> }).mappings[0]
  await env.putMapping({ ...documented, scope: `${env.issuer.url}/${SELF.project_path}`, pin: { project_id: SELF.project_id } })
  ssm = await startFakeAws({ port: SSM_PORT, lookup: env.sts.lookup, parameters: {
    '/TanukiStsProduction/tables/mappings': env.tables.mappings, '/TanukiStsProduction/tables/audit': env.tables.audit,
  } })
  // The target branch holds the deploy mapping the jobs above were issued under; the merge request moves it to the
  // release branch, and maps the role "not-mapped" the refused jobs asked for.
  sh(repo.dir, 'checkout', '-q', 'main')
  branch('with-self', { 'mappings/self.yaml': selfMappings('main') })
  sh(repo.dir, 'push', '-q', 'origin', 'with-self:main')
  sh(repo.dir, 'checkout', '-q', '-B', 'main', 'with-self')
  sh(repo.dir, 'update-ref', 'refs/remotes/origin/main', 'main')
  branch('mr-impact', { 'mappings/self.yaml': selfMappings('release', notMapped()) })

  const jobId = '7100000020'
  const { token, variables } = await readAccess(REVIEW_ROLE, jobId)
  const { r, artifact } = await review(variables)
  t.equal(r.code, 0, `the job succeeded (${r.seconds.toFixed(1)} s)${r.code === 0 ? '' : `\n${tail(r.output)}`}`)
  t.ok(artifact.includes('Plan: 1 to create, 1 to update, 0 to delete, 2 unchanged.'), 'the plan, as without the role')
  t.match(artifact, /\nImpact: \d+ requests from .* replayed against the --from files and the planned ones\n {2}\d+ decisions would flip: \d+ issued → denied, \d+ denied → issued/,
    'then the impact, replayed against the target branch\'s files and the merge request\'s')
  t.match(artifact, new RegExp(`Issued → denied:\\n {2}${SELF.project_path} {2}deploy {2}\\d+ requests \\(\\d+ jobs\\)\\n {4}e\\.g\\. job 71000000\\d\\d `),
    'issued → denied: this project\'s deploy jobs on main, with a sample job')
  t.match(artifact, /planned: {2}denied by \S+: ref must be "release", the token had "main"/, 'and the rule that would deny them')
  t.match(artifact, new RegExp(`Denied → issued:\\n {2}${SELF.project_path} {2}not-mapped {2}\\d+ requests? \\(\\d+ jobs?\\)`), 'denied → issued: the refused role, now mapped')
  t.notOk(artifact.includes('Impact: skipped'), 'not skipped')
  const { records, assumed } = await issuedFor(jobId)
  t.deepEqual(records.map(a => `${a.outcome} ${a.role}`), [`issued ${REVIEW_ROLE}`], 'the job got credentials for the review role, audited')
  t.deepEqual(ssm.signers.filter(s => s.service === 'ssm').map(s => s.accessKeyId), assumed.map(a => a.accessKeyId),
    'and SSM was read with them (their signature checked), to find the audit table')
  t.notOk(r.output.includes(token), 'the ID token never appears in the log')
})

test('mappings-review with a TANUKI_STS_REVIEW_ROLE the broker refuses: the job fails with the broker\'s message, before any plan', async t => {
  const { token, variables } = await readAccess('no-such-review-role', '7100000021')
  const { r } = await review(variables)
  t.notEqual(r.code, 0, `the job failed (${r.seconds.toFixed(1)} s)`)
  t.match(r.output, /tanuki-sts: access_denied: No mapping lets \S+\/tanuki\/tanuki-sts use the role "no-such-review-role"/, 'with the broker\'s message')
  t.notOk(r.output.includes('Plan: '), 'no plan was made without the impact it was asked for')
  t.notOk(r.output.includes(token), 'the ID token never appears in the log')
})

test('Teardown', async t => {
  await eventually(async () => (await env.auditRecords()).every(a => a.outcome !== 'issued' || a.accessKeyId) || undefined)
  repo.remove()
  if (origin) rmSync(origin, { recursive: true, force: true })
  await git.stop()
  await ssm?.close()
  rmSync(gitRoot, { recursive: true, force: true })
  await env.stop()
  t.pass('stopped')
})
