// Configuration hardening: the local-only overrides are refused in production, and trusted issuers cannot share scopes.
import test from 'tape'
import { loadConfig } from '../../src/broker/config'
import { MISCONFIGURED } from '../../src/broker/errors'
import { createCredentialsHandler } from '../../src/broker/http'
import { candidateScopes } from '../../src/broker/scope'

const local = { BROKER_ISSUERS: 'https://gitlab.com', BROKER_AUDIENCE: 'https://sts.example.com', BROKER_TABLE_MAPPINGS: 'm', BROKER_TABLE_AUDIT: 'a', BROKER_TABLE_ISSUER_KEYS: 'k' }

function errorOf (env: Record<string, string>): string {
  try { loadConfig(env); return 'ok' }
  catch (err) { return err instanceof TypeError ? err.message : `not a TypeError: ${String(err)}` }
}

test('config: BROKER_DYNAMODB_ENDPOINT points a local broker at another DynamoDB', t => {
  const c = loadConfig({ ...local, ARC_ENV: 'testing', BROKER_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9/' })
  t.equal(c.dynamoEndpoint, 'http://127.0.0.1:9', 'the override is used, without its trailing slash')
  const sandbox = loadConfig({ ...local, ARC_ENV: 'testing', ARC_SANDBOX: JSON.stringify({ ports: { tables: 5555 } }), BROKER_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' })
  t.equal(sandbox.dynamoEndpoint, 'http://127.0.0.1:9', 'it wins over the sandbox DynamoDB')
  t.end()
})

test('config: BROKER_DYNAMODB_ENDPOINT is refused in a deployed stack (staging too), and must be a URL', t => {
  for (const stage of ['production', 'staging']) {
    t.match(errorOf({ ...local, ARC_ENV: stage, BROKER_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' }),
      new RegExp(`^BROKER_DYNAMODB_ENDPOINT is refused in a deployed stack \\(ARC_ENV=${stage}\\)`), `${stage}: refused, naming it`)
  }
  t.match(errorOf({ ...local, BROKER_DYNAMODB_ENDPOINT: 'not a url' }), /^BROKER_DYNAMODB_ENDPOINT is not a URL/, 'not a URL: refused, naming it')
  t.equal(loadConfig({ ...local, ARC_ENV: 'production' }).dynamoEndpoint, undefined, 'production without it: AWS\'s own endpoint')
  t.end()
})

test('config: an issuer spelled other than tokens spell it is refused, naming the spelling to use', t => {
  const cases: Array<[string, RegExp]> = [
    ['https://gitlab.com/', /write the issuer exactly .* e\.g\. "https:\/\/gitlab\.com"/],
    ['https://GitLab.com', /e\.g\. "https:\/\/gitlab\.com"/],
    ['https://gitlab.com:443', /e\.g\. "https:\/\/gitlab\.com"/],
    ['https://gitlab.com?', /e\.g\. "https:\/\/gitlab\.com"/],
    ['https://gitlab.com#', /e\.g\. "https:\/\/gitlab\.com"/],
    ['https://gitlab.com/?a=1', /no trailing slash, query/],
    ['https://git.example.com/gitlab/', /e\.g\. "https:\/\/git\.example\.com\/gitlab"/],
  ]
  for (const [issuer, message] of cases) t.match(errorOf({ ...local, BROKER_ISSUERS: issuer }), message, `${issuer}: refused`)
  const secret = errorOf({ ...local, BROKER_ISSUERS: 'https://svc:s3cret@gitlab.com' })
  t.match(secret, /credentials in it \(https:\/\/gitlab\.com\)/, 'credentials in the URL: refused')
  t.notOk(secret.includes('s3cret'), 'without repeating them')
  for (const issuer of ['http://svc:s3cret@gitlab.com', 'ftp://svc:s3cret@gitlab.com', 'svc:s3cret@gitlab.com']) {
    t.notOk(errorOf({ ...local, BROKER_ISSUERS: issuer }).includes('s3cret'), `${issuer.replace('s3cret', '***')}: refused for another reason, still masked`)
  }
  t.equal(errorOf({ ...local, BROKER_ISSUERS: 'https://gitlab.example.com/GitLab' }), 'ok', 'a path keeps its case')
  t.end()
})

test('config: a trusted issuer that is a path prefix of another is refused (their scopes would overlap)', t => {
  const root = candidateScopes('https://git.example.com', 'gitlab/acme/api')
  const sub = candidateScopes('https://git.example.com/gitlab', 'acme/api')
  t.deepEqual(sub.filter(s => root.includes(s)), sub, 'why: the root issuer\'s project gitlab/acme/api has every scope of the sub-path issuer\'s acme/api')
  const overlapping = [
    'https://git.example.com, https://git.example.com/gitlab',
    'https://git.example.com/gitlab, https://git.example.com',
  ]
  for (const issuers of overlapping) t.match(errorOf({ ...local, BROKER_ISSUERS: issuers }), /^BROKER_ISSUERS has .* share the other's mapping scopes/, `${issuers}: refused`)
  t.match(errorOf({ ...local, BROKER_ISSUERS: 'https://git.example.com, https://GIT.example.com/gitlab' }), /^BROKER_ISSUERS has "https:\/\/GIT/, 'an upper-case spelling of one is refused before it could overlap')
  t.equal(errorOf({ ...local, BROKER_ISSUERS: 'https://git.example.com/gitlab, https://git.example.com/gitlab2' }), 'ok', 'siblings that only share a text prefix are fine')
  t.equal(errorOf({ ...local, BROKER_ISSUERS: 'https://gitlab.com, https://gitlab.example.com/gitlab' }), 'ok', 'different hosts are fine')
  t.end()
})

test('config: the audience may not be a trusted issuer\'s URL (the audience GitLab\'s docs and the classic AWS OIDC setup give tokens for other services)', t => {
  const issuers = 'https://gitlab.com, https://git.example.com/gitlab'
  for (const audience of ['https://gitlab.com', 'https://gitlab.com/', 'HTTPS://GitLab.com', 'https://git.example.com/gitlab']) {
    t.match(errorOf({ ...local, BROKER_ISSUERS: issuers, BROKER_AUDIENCE: audience }), /^BROKER_AUDIENCE is the URL of the trusted issuer https:\/\/(gitlab\.com|git\.example\.com\/gitlab)\b.*the broker's own URL/,
      `${audience}: refused, naming the issuer and what to set instead`)
  }
  for (const audience of ['https://sts.gitlab.com', 'https://git.example.com', 'https://git.example.com/gitlab/sts']) {
    t.equal(errorOf({ ...local, BROKER_ISSUERS: issuers, BROKER_AUDIENCE: audience }), 'ok', `${audience}: a URL of its own is fine`)
  }
  t.end()
})

test('config: in a deployed stack, STS and DynamoDB are reached over https only (the SDK\'s own endpoint variables too)', t => {
  // The SDK clients honour AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL by themselves: over http, AssumeRole's answer
  // (the issued credentials) and the mappings that decide what is granted would cross the network in clear.
  // SNS too: the publish carries the Lambda role's session token.
  for (const name of ['BROKER_STS_ENDPOINT', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SNS', 'AWS_ENDPOINT_URL']) {
    const message = errorOf({ ...local, ARC_ENV: 'production', [name]: 'http://sts.us-east-1.amazonaws.com' })
    t.match(message, new RegExp(`^${name} must be an https:// URL in a deployed stack \\(ARC_ENV=production\\)`), `${name} over http in production: refused, naming it`)
    t.match(errorOf({ ...local, ARC_ENV: 'staging', [name]: 'http://sts.us-east-1.amazonaws.com' }), /ARC_ENV=staging/, `${name} over http in staging: refused as well`)
    t.notOk(message.includes('sts.us-east-1'), `${name}: the value is not quoted (it may hold credentials)`)
    t.equal(errorOf({ ...local, ARC_ENV: 'production', [name]: 'https://sts-fips.us-east-1.amazonaws.com' }), 'ok', `${name} over https in production: fine (a regional, FIPS or VPC endpoint)`)
    t.equal(errorOf({ ...local, ARC_ENV: 'testing', [name]: 'http://127.0.0.1:4566' }), 'ok', `${name} over http outside production: fine (local runs)`)
  }
  const unparsable = errorOf({ ...local, ARC_ENV: 'testing', BROKER_STS_ENDPOINT: 'https://AKIAEXAMPLE:s3cr3t@sts .example.com' })
  t.match(unparsable, /^BROKER_STS_ENDPOINT is not a URL/, 'an endpoint that does not parse is named')
  t.notOk(unparsable.includes('s3cr3t'), 'without the credentials in it')
  t.end()
})

/** Runs fn with console.log/error captured (the broker's log lines), and the environment replaced. */
async function withEnv<T> (env: Record<string, string>, fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = []
  const saved = { log: console.log, error: console.error, env: process.env }
  console.log = (line: unknown) => { lines.push(String(line)) }
  console.error = (line: unknown) => { lines.push(String(line)) }
  process.env = { ...env }
  try { return { result: await fn(), lines } }
  finally { Object.assign(console, { log: saved.log, error: saved.error }); process.env = saved.env }
}

test('config: a broken configuration is named in the logs, never echoed to callers (it may quote a secret)', async t => {
  const broken = { ...local, BROKER_ISSUERS: 'https://svc:s3cret-pass@gitlab.example.com' }
  const { result, lines } = await withEnv(broken, async () => {
    // As the Lambda builds it: composeBroker from process.env.
    const handler = createCredentialsHandler('POST')
    const answer = await handler({ rawQueryString: 'role=deploy', headers: { authorization: 'Bearer a.b.c' }, requestContext: { requestId: 'r1', http: { method: 'POST' } } })
    const healthzPath = require.resolve('../../src/http/get-healthz/index.ts')
    delete require.cache[healthzPath]
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const healthz = (require(healthzPath) as { handler (): Promise<{ statusCode: number; body: string }> }).handler
    return { answer, health: await healthz() }
  })
  const body = JSON.parse(result.answer.body) as { error: string; message: string }
  t.equal(result.answer.statusCode, 503, 'credentials: 503 while misconfigured')
  t.deepEqual([body.error, body.message], ['unavailable', MISCONFIGURED], 'with a message that says whose problem it is')
  t.equal(result.health.statusCode, 503, 'healthz: 503')
  t.notOk(`${result.answer.body}${result.health.body}`.includes('s3cret-pass'), 'neither answer quotes the configuration')
  t.ok(lines.some(l => l.includes('broker configuration is invalid') && l.includes('BROKER_ISSUERS')), 'the log line names the variable')
  t.end()
})
