// Real clients against the local broker and local STS: the jobs of docs/ci.md (and the README's one line) run in bash as written (the curl
// line, container credentials, credential_process) with the AWS CLI v2 (the one e2e-tools.ts finds) and with the JS SDK's own providers.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { parse } from 'yaml'
import { ROLE_ARN, ROOT, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { docSnippet } from '../helpers/doc-snippets'
import { e2eJobPath } from '../helpers/e2e-tools'

/** The broker URL the docs use; every run points it at the local broker. */
const DOC_URL = 'https://sts.example.com'
const SDK_WHOAMI = `node --require ${require.resolve('tsx/cjs')} ${join(ROOT, 'test', 'helpers', 'sdk-whoami.ts')}`

interface Job { id_tokens: { BROKER_ID_TOKEN: { aud: string } }; variables?: Record<string, string>; script: unknown[] }
interface Run { code: number; stdout: string; stderr: string }

let env: BrokerEnv
let home: string
let projectDir: string
let brokerUrl: string
let jobIds = 7100000000

const snippet = (name: string) => docSnippet(name)
const job = (name: string) => (parse(snippet(name)) as { deploy: Job }).deploy

/**
 * The two changes a run makes to a documented line: the broker URL becomes the local one, and `aws` gets the local
 * STS as --endpoint-url (AWS CLI 2.9 ignores AWS_ENDPOINT_URL_STS; the JS SDK reads it from the environment).
 */
const localize = (line: string) => line.split(DOC_URL).join(brokerUrl).replace(/^aws (.*)$/, 'aws $1 --endpoint-url "$AWS_ENDPOINT_URL_STS"')

/** A job's own environment: the tools e2e-tools.ts found (so `aws` is that AWS CLI v2) and system paths, an empty HOME, no AWS config or keys. */
function clientEnv (): NodeJS.ProcessEnv {
  return {
    PATH: e2eJobPath(),
    HOME: home,
    LANG: 'C.UTF-8',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_STS: env.sts.url,
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
  }
}

function bash (script: string, vars: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: projectDir, env: { ...clientEnv(), ...vars }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('error', reject)
    child.on('close', code => resolve({ code: code ?? 1, stdout, stderr }))
  })
}

/**
 * Runs a documented job as a runner would: its `variables` (with $VARS expanded, as GitLab does) and the ID token
 * in the environment, its script lines in bash under `set -euo pipefail`. `sdk` swaps each `aws` line for the JS SDK.
 */
async function runJob (name: string, token: string, opts: { sdk?: 'chain' | 'from-http' } = {}): Promise<Run> {
  const j = job(name)
  const given: Record<string, string> = { BROKER_ID_TOKEN: token, CI_PROJECT_DIR: projectDir }
  const variables = Object.fromEntries(Object.entries(j.variables ?? {}).map(([k, v]) => [
    k, localize(String(v)).replace(/\$(\w+)/g, (_m, n: string) => given[n] ?? ''),
  ]))
  const lines = j.script.map(l => localize(String(l)))
    .map(l => opts.sdk && l.startsWith('aws ') ? `${SDK_WHOAMI} ${opts.sdk}` : l)
  return bash(['set -euo pipefail', ...lines].join('\n'), { ...given, ...variables })
}

const token = async (aud: string) => {
  const jobId = String(++jobIds)
  return { jobId, token: await env.mint({ job_id: jobId }, { audience: aud }) }
}
const assumedArn = (jobId: string) => `arn:aws:sts::111122223333:assumed-role/payments-deploy/gitlab-4301877-${jobId}`
const show = (r: Run) => r.code === 0 ? '' : `\n    stdout: ${r.stdout.trim()}\n    stderr: ${r.stderr.trim()}`

async function assertWorks (t: test.Test, name: string, opts: { sdk?: 'chain' | 'from-http' } = {}) {
  const issued = env.sts.issued.length
  const { jobId, token: jwt } = await token(job(name).id_tokens.BROKER_ID_TOKEN.aud)
  const r = await runJob(name, jwt, opts)
  t.equal(r.code, 0, `the job succeeded${show(r)}`)
  t.ok(r.stdout.includes(assumedArn(jobId)), `GetCallerIdentity names the assumed role of this job (${jobId})`)
  t.equal(env.sts.issued.length - issued, 1, 'the broker assumed the role once')
  t.notOk(r.stdout.includes(jwt) || r.stderr.includes(jwt), 'the token is not printed')
}

test('Set up env', async t => {
  const aud = job('curl-line').id_tokens.BROKER_ID_TOKEN.aud
  env = await startBrokerEnv({ env: { BROKER_AUDIENCE: aud } })
  // The AWS CLI takes container credentials over http from 127.0.0.1 and localhost only.
  brokerUrl = env.url.replace('localhost', '127.0.0.1')
  home = mkdtempSync(join(tmpdir(), 'tanuki-clients-home-'))
  projectDir = mkdtempSync(join(tmpdir(), 'tanuki-clients-project-'))
  mkdirSync(join(projectDir, 'ci'))
  writeFileSync(join(projectDir, 'ci', 'aws-config'), localize(snippet('credential-process-config')) + '\n')
  await env.putMapping({
    scope: `${env.issuer.url}/acme/payments/api`, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' },
  })
  const version = await bash('aws --version', {})
  t.match(version.stdout, /^aws-cli\/2\./, `the AWS CLI under test: ${version.stdout.trim().split(' ')[0]}`)
  t.equal(aud, DOC_URL, `the documented jobs ask for tokens with aud ${aud}, the broker's audience here`)
})

test('the documented jobs are valid GitLab YAML: every script line is a string', async t => {
  for (const name of ['curl-line', 'container', 'credential-process']) {
    t.ok(job(name).script.every(l => typeof l === 'string'), `${name}: all strings`)
  }
})

test('the curl line: eval, then aws sts get-caller-identity, under set -euo pipefail', async t => {
  await assertWorks(t, 'curl-line')
})

test('the curl line with a bad token stops at the eval with the broker\'s message and a non-zero status', async t => {
  const issued = env.sts.issued.length
  const whoami = env.sts.calls.GetCallerIdentity
  const forged = await env.mint({}, { audience: 'https://another-service.example.com' })
  const r = await runJob('curl-line', forged)
  t.equal(r.code, 1, 'bash exits 1')
  t.match(r.stderr, /tanuki-sts: invalid_token: .+ \(request [\w-]+\)/, `stderr has the broker's message: ${r.stderr.trim().split('\n').at(-1)}`)
  t.equal(r.stdout, '', 'nothing on stdout')
  t.equal(env.sts.calls.GetCallerIdentity, whoami, 'aws sts get-caller-identity never ran')
  t.equal(env.sts.issued.length, issued, 'nothing was issued')
})

test('container credentials: the AWS CLI gets credentials from GET /credentials with no curl', async t => {
  await assertWorks(t, 'container')
})

test('credential_process: the AWS CLI runs the profile\'s curl and reads format=json', async t => {
  await assertWorks(t, 'credential-process')
})

test('the JS SDK default chain after the curl line: the exported variables', async t => {
  await assertWorks(t, 'curl-line', { sdk: 'chain' })
})

test('the JS SDK default chain with the container credentials variables', async t => {
  await assertWorks(t, 'container', { sdk: 'chain' })
})

test('the JS SDK default chain with the credential_process profile', async t => {
  await assertWorks(t, 'credential-process', { sdk: 'chain' })
})

test('the JS SDK fromHttp: GET /credentials with AWS_CONTAINER_AUTHORIZATION_TOKEN', async t => {
  await assertWorks(t, 'container', { sdk: 'from-http' })
})

test('Teardown', async t => {
  rmSync(home, { recursive: true, force: true })
  rmSync(projectDir, { recursive: true, force: true })
  await env.stop()
  t.pass('stopped')
})
