// The broker end to end in sandbox: real local DynamoDB, tokens from the local issuer, AssumeRole on the local STS.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { fromHttp } from '@aws-sdk/credential-provider-http'
import test from 'tape'
import { sha256Hex } from '../../src/broker/token'
import { ROLE_ARN, eventually, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { post as postTo } from '../helpers/post'

let env: BrokerEnv
const project = { scope: 'http://placeholder/acme/payments/api', role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } }

const post = (token: string, query: string, init: RequestInit = {}) => postTo(env.url, token, query, init)

test('Set up env', async t => {
  env = await startBrokerEnv()
  project.scope = `${env.issuer.url}/acme/payments/api`
  t.ok(env.url, `broker running at ${env.url}`)
})

test('healthz answers ok with the version', async t => {
  const res = await fetch(`${env.url}/healthz`)
  const body = await res.json() as { ok: boolean; version: string }
  t.equal(res.status, 200, '200')
  t.equal(body.ok, true, 'ok')
  t.match(body.version, /^\d+\.\d+\.\d+/, 'a semver version')
})

test('a matching project and ref get credentials that the local STS accepts', async t => {
  await env.reset()
  await env.putMapping(project)
  const token = await env.mint()
  const r = await post(token, 'role=deploy')
  t.equal(r.status, 200, '200')
  t.equal(r.body.Version, 1, 'credential_process shape')
  t.equal(r.body.RoleArn, ROLE_ARN, 'the mapped role')
  t.match(String(r.body.AssumedRoleArn), /assumed-role\/payments-deploy\/gitlab-4301877-8269345391$/, 'session named after the project and job')
  t.ok(r.headers.get('x-request-id'), 'a request id header')
  const assumed = env.sts.issued.at(-1)
  t.equal(assumed?.sourceIdentity, 'ada.lovelace', 'SourceIdentity is the GitLab user')
  t.equal(assumed?.tags['gitlab:project_path'], 'acme/payments/api', 'session tags carry the project path')
  t.equal(assumed?.tags['gitlab:ref'], 'main', 'and the ref')
  t.deepEqual(assumed?.transitiveTagKeys, [], 'no transitive tags')
  t.equal(assumed?.durationSeconds, 3600, 'the default duration is the ceiling')

  const sts = new STSClient({
    region: 'us-east-1', endpoint: env.sts.url,
    credentials: { accessKeyId: String(r.body.AccessKeyId), secretAccessKey: String(r.body.SecretAccessKey), sessionToken: String(r.body.SessionToken) },
  })
  const me = await sts.send(new GetCallerIdentityCommand({}))
  t.equal(me.Arn, r.body.AssumedRoleArn, 'GetCallerIdentity with the issued credentials names the assumed role')

  const records = await env.auditRecords()
  const issued = records.find(a => a.issuanceId === r.body.IssuanceId)
  t.equal(issued?.outcome, 'issued', 'the audit record exists with outcome issued')
  t.equal(issued?.token_sha256, sha256Hex(token), 'it keeps the token\'s SHA-256')
  t.equal(issued?.job_id, '8269345391', 'and the job id')
  t.notOk(JSON.stringify(records).includes(token), 'the token itself is not stored')
  t.notOk(JSON.stringify(records).includes(String(r.body.SecretAccessKey)), 'the secret key is not stored')

  const completed = await eventually(async () => (await env.auditRecords()).find(a => a.issuanceId === r.body.IssuanceId && a.accessKeyId))
  t.equal(completed?.accessKeyId, r.body.AccessKeyId, 'the event Lambda added the AccessKeyId to the record')
  // The line comes after the record: the event is checked against it first.
  const line = await eventually(async () => env.logs.find(l => l.includes('"msg":"credentials-issued"') && l.includes(String(r.body.IssuanceId))))
  t.ok(line, 'the event Lambda logged the issuance')
  t.notOk(line?.includes(String(r.body.SecretAccessKey)), 'its log line has no secret')
})

test('duration is clamped by the mapping and the request', async t => {
  await env.reset()
  await env.putMapping({ ...project, maxDuration: 1800 })
  let r = await post(await env.mint(), 'role=deploy&duration=3600')
  t.equal(r.status, 200, 'a longer request is clamped, not refused')
  t.equal(env.sts.issued.at(-1)?.durationSeconds, 1800, 'to the mapping\'s maxDuration')
  r = await post(await env.mint(), 'role=deploy&duration=900')
  t.equal(env.sts.issued.at(-1)?.durationSeconds, 900, 'a shorter request is honoured')
})

test('format=shell answers export lines', async t => {
  await env.reset()
  await env.putMapping(project)
  const r = await post(await env.mint(), 'role=deploy&format=shell')
  t.equal(r.status, 200, '200')
  t.match(r.text, /^export AWS_ACCESS_KEY_ID='ASIA[A-Z0-9]+'$/m, 'the key id line')
  t.match(r.text, /^export AWS_SESSION_TOKEN='/m, 'the session token line')
  t.match(r.text, /^export AWS_CREDENTIAL_EXPIRATION='\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'$/m, 'the expiration line')
})

test('GET answers the container format', async t => {
  await env.reset()
  await env.putMapping(project)
  const res = await fetch(`${env.url}/credentials?role=deploy`, { headers: { authorization: await env.mint() } })
  const body = await res.json() as Record<string, string>
  t.equal(res.status, 200, '200 with the raw token, as SDKs send it')
  t.deepEqual(Object.keys(body).sort(), ['AccessKeyId', 'Expiration', 'RoleArn', 'SecretAccessKey', 'Token'], 'container fields')
})

test('HEAD /credentials (which sandbox routes to the GET handler) is 405, issues nothing and takes no use', async t => {
  await env.reset()
  await env.putMapping({ ...project, maxUses: 1 })
  const token = await env.mint()
  const head = await fetch(`${env.url}/credentials?role=deploy`, { method: 'HEAD', headers: { authorization: token } })
  const get = await fetch(`${env.url}/credentials?role=deploy`, { headers: { authorization: token } })
  t.equal(head.status, 405, 'HEAD: 405')
  t.equal(head.headers.get('allow'), 'GET, POST', 'with Allow')
  t.equal(get.status, 200, 'the token\'s one use is still there for the GET that follows')
  t.equal(env.sts.calls.AssumeRole, 1, 'one AssumeRole: the GET\'s')
})

test('a real client: the AWS SDK container-credentials provider gets credentials and uses them', async t => {
  await env.reset()
  await env.putMapping(project)
  const saved = { uri: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, token: process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN }
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${env.url.replace('localhost', '127.0.0.1')}/credentials?role=deploy`
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = await env.mint()
  try {
    const sts = new STSClient({ region: 'us-east-1', endpoint: env.sts.url, credentials: fromHttp({}) })
    const me = await sts.send(new GetCallerIdentityCommand({}))
    t.match(String(me.Arn), /^arn:aws:sts::111122223333:assumed-role\/payments-deploy\/gitlab-4301877-8269345391$/, 'the local STS reports the assumed role')
    t.equal(env.sts.calls.AssumeRole, 1, 'the broker assumed the role once')
  }
  finally {
    for (const [k, v] of [['AWS_CONTAINER_CREDENTIALS_FULL_URI', saved.uri], ['AWS_CONTAINER_AUTHORIZATION_TOKEN', saved.token]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
})

test('401 for tokens that do not verify, with no STS call and no audit record', async t => {
  await env.reset()
  await env.putMapping(project)
  const good = await env.mint()
  const [h, p] = good.split('.')
  const cases: Array<[string, string, RegExp]> = [
    ['a forged signature', `${h}.${p}.${Buffer.from('forged').toString('base64url')}`, /^The ID token's signature does not verify\.$/],
    ['a wrong audience', await env.mint({}, { audience: 'https://someone-else.example' }), /^The ID token has the audience "https:\/\/someone-else\.example"; /],
    ['an expired token', await env.mint({}, { iat: Math.floor(Date.now() / 1000) - 3600, expiresIn: 300 }), /^The ID token has expired; /],
    ['an untrusted issuer', await env.mint({ iss: 'https://gitlab.evil.example' }), /^The ID token's issuer "https:\/\/gitlab\.evil\.example" is not trusted /],
  ]
  for (const [name, token, rule] of cases) {
    const r = await post(token, 'role=deploy')
    t.equal(r.status, 401, `${name}: 401`)
    t.equal(r.body.error, 'invalid_token', `${name}: invalid_token`)
    t.match(String(r.body.message), rule, `${name}: refused by its rule`)
    t.match(String(r.headers.get('www-authenticate')), /^Bearer .*error="invalid_token"/, `${name}: a Bearer challenge`)
  }
  t.equal(env.sts.calls.AssumeRole, 0, 'STS was never called')
  t.deepEqual(await env.auditRecords(), [], 'unverified tokens leave no audit record')
})

test('403 for authenticated callers without a grant, each audited as a denial', async t => {
  await env.reset()
  await env.putMapping(project)
  await env.putMapping({ ...project, role: 'once', maxUses: 1 })
  const cases: Array<[string, string, string, string]> = [
    ['no mapping for the role', await env.mint(), 'role=admin', 'mapping'],
    ['a failed condition (ref)', await env.mint({ ref: 'develop' }), 'role=deploy', 'ref'],
    ['an unprotected ref under the default', await env.mint({ ref_protected: 'false' }), 'role=deploy', 'ref_protected'],
    ['another project', await env.mint({ project_path: 'acme/payments/web', project_id: '99' }), 'role=deploy', 'mapping'],
  ]
  for (const [name, token, query, condition] of cases) {
    const r = await post(token, query)
    t.equal(r.status, 403, `${name}: 403`)
    t.equal(r.body.error, 'access_denied', `${name}: access_denied`)
    const denial = (await env.auditRecords()).find(a => a.token_sha256 === sha256Hex(token) && a.outcome === 'denied')
    t.equal(denial?.condition, condition, `${name}: audited, naming ${condition}`)
  }
  const once = await env.mint()
  t.equal((await post(once, 'role=once')).status, 200, 'maxUses 1: the first use is issued')
  const again = await post(once, 'role=once')
  t.equal(again.status, 403, 'maxUses 1: the second is refused')
  t.match(String(again.body.message), /maxUses/, 'and says why')
  t.equal(env.sts.calls.AssumeRole, 1, 'only the one issuance reached STS')
})

test('403 messages say what to change: a disabled mapping, a glob that does not match', async t => {
  await env.putMapping({ ...project, role: 'off', enabled: false })
  await env.putMapping({ ...project, role: 'release', conditions: { ref_type: 'tag', ref: 'v*' } })
  const off = await post(await env.mint(), 'role=off')
  const hotfix = await post(await env.mint({ ref: 'v1/hotfix', ref_type: 'tag' }), 'role=release')
  t.equal(off.status, 403, 'a disabled mapping: 403')
  t.equal(off.body.message, `The mapping ${project.scope} for the role "off" is disabled (enabled: false), so it grants nothing; an admin must enable it.`,
    'which says it is disabled, not that enabled must be "true"')
  t.equal(hotfix.status, 403, 'a tag v1/hotfix against ref v*: 403')
  t.equal(hotfix.body.message, `The mapping ${project.scope} for the role "release" requires ref to match "v*" (* does not cross /; ** does); this token has "v1/hotfix".`,
    'which says the pattern must match, and how * works')
  const twice = await post(await env.mint({ ref: 'develop', ref_protected: 'false' }), 'role=deploy')
  t.match(String(twice.body.message), /; this token has "[^"]+"\. It fails 1 more condition of this mapping too \(tanuki-sts explain lists every one\)\.$/,
    'a token failing two conditions hears of both: one named, the other counted')
})

test('every answer\'s log line names the caller: source IP and user agent, for refusals that leave no audit record', async t => {
  const issued = env.logs.find(l => l.includes('"msg":"credentials issued"'))
  const refused = env.logs.find(l => l.includes('"msg":"request refused"') && l.includes('"code":"invalid_token"'))
  for (const [name, line] of [['an issuance', issued], ['a 401', refused]] as const) {
    const fields = JSON.parse(line ?? '{}') as { sourceIp?: string; userAgent?: string }
    t.equal(fields.sourceIp, '127.0.0.1', `${name}: sourceIp`)
    t.equal(typeof fields.userAgent, 'string', `${name}: userAgent (${fields.userAgent})`)
  }
})

test('the event Lambda logs each issuance without secrets', async t => {
  const secrets = env.sts.issued.map(i => i.accessKeyId)
  t.ok(secrets.length > 0, 'some credentials were issued in this file')
  const lines = env.logs.filter(l => l.includes('"msg":"credentials-issued"'))
  t.ok(lines.length >= 1, 'issuance lines were logged')
})

test('Teardown: an issuance\'s event Lambda, still running, ends before sandbox does', async t => {
  await env.reset()
  await env.putMapping(project)
  const r = await post(await env.mint(), 'role=deploy')
  t.equal(r.status, 200, 'issued just before the teardown')
  await env.stop()
  // Ended under it, the Lambda would print "Lambda init error" and an unhandled ECONNREFUSED after the suite.
  t.ok(env.logs.some(l => l.includes('"msg":"credentials-issued"') && l.includes(String(r.body.IssuanceId))), 'its event Lambda finished and logged the issuance first')
  t.pass('sandbox, issuer and STS stopped')
})
