// Spec for src/local/sts.ts, driven by the real @aws-sdk/client-sts against the local STS on loopback.
// Signature details are specified in sigv4-verify-test.ts; here: what STS answers, counts and records.
import test from 'tape'
import { SignatureV4 } from '@smithy/signature-v4'
import { Sha256 } from '@smithy/core/checksum'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts'
import { startLocalSts, type LocalSts } from '../../src/local/sts'

const broker = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  arn: 'arn:aws:sts::000000000000:assumed-role/tanuki-sts-broker/local',
}
const deploy: AssumeRoleCommandInput = {
  RoleArn: 'arn:aws:iam::111122223333:role/ci/deploy',
  RoleSessionName: 'gitlab-4301877-8269345391',
  DurationSeconds: 900,
  SourceIdentity: 'ada.lovelace',
  Tags: [
    { Key: 'gitlab:project_path', Value: 'acme/payments/api' },
    { Key: 'gitlab:ref', Value: 'main' },
  ],
}

let sts: LocalSts
let clock: Date | undefined

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
function client (credentials: Credentials = broker, maxAttempts = 3): STSClient {
  return new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials, maxAttempts })
}

async function failure (run: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await run
    return { name: 'none', message: 'the call succeeded' }
  }
  catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } }
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message }
  }
}

async function assumeDeploy (): Promise<Credentials> {
  const { Credentials: c } = await client().send(new AssumeRoleCommand(deploy))
  return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken }
}

test('Set up env', async t => {
  sts = await startLocalSts({ principals: [broker], now: () => clock ?? new Date() })
  t.plan(1)
  t.match(sts.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'the local STS listens on loopback')
})

test('AssumeRole returns credentials in the shape AWS returns them', async t => {
  sts.reset()
  const before = Date.now()
  const out = await client().send(new AssumeRoleCommand(deploy))
  t.plan(8)
  t.match(out.Credentials?.AccessKeyId ?? '', /^ASIA[A-Z0-9]{16}$/, 'the key id is an ASIA key')
  t.equal(out.Credentials?.SecretAccessKey?.length, 40, 'the secret has 40 characters')
  t.ok((out.Credentials?.SessionToken?.length ?? 0) > 100, 'a session token comes with it')
  const ttl = (out.Credentials?.Expiration?.getTime() ?? 0) - before
  t.ok(ttl > 895_000 && ttl <= 901_000, 'it expires after DurationSeconds')
  t.equal(out.AssumedRoleUser?.Arn, 'arn:aws:sts::111122223333:assumed-role/deploy/gitlab-4301877-8269345391', 'the assumed-role ARN drops the role path')
  t.match(out.AssumedRoleUser?.AssumedRoleId ?? '', /^AROA[A-Z0-9]{17}:gitlab-4301877-8269345391$/, 'the assumed-role id is the role id and session name')
  t.equal(out.SourceIdentity, 'ada.lovelace', 'the source identity is echoed')
  t.ok((out.PackedPolicySize ?? 0) > 0, 'tags give a packed policy size')
})

test('issued credentials call GetCallerIdentity as the assumed role', async t => {
  sts.reset()
  const creds = await assumeDeploy()
  const me = await client(creds).send(new GetCallerIdentityCommand({}))
  const broker_ = await client().send(new GetCallerIdentityCommand({}))
  t.plan(5)
  t.equal(me.Arn, 'arn:aws:sts::111122223333:assumed-role/deploy/gitlab-4301877-8269345391', 'the caller is the assumed role')
  t.equal(me.Account, '111122223333', 'the account is the role account')
  t.match(me.UserId ?? '', /^AROA[A-Z0-9]{17}:gitlab-4301877-8269345391$/, 'the user id is the role session id')
  t.equal(broker_.Arn, broker.arn, 'a configured principal is itself')
  t.deepEqual(sts.calls, { AssumeRole: 1, GetCallerIdentity: 2, rejected: 0 }, 'every verified call is counted')
})

test('AssumeRole records what was asked, and never a secret', async t => {
  sts.reset()
  const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
  await client().send(new AssumeRoleCommand({ ...deploy, Policy: policy, TransitiveTagKeys: [] }))
  const [record] = sts.issued
  t.plan(6)
  t.equal(sts.issued.length, 1, 'one issuance is listed')
  t.equal(record.roleSessionName, deploy.RoleSessionName, 'the session name is recorded')
  t.equal(record.sourceIdentity, 'ada.lovelace', 'the source identity is recorded')
  t.deepEqual(record.tags, { 'gitlab:project_path': 'acme/payments/api', 'gitlab:ref': 'main' }, 'the session tags are recorded')
  t.deepEqual([record.policy, record.durationSeconds, record.callerArn], [policy, 900, broker.arn], 'policy, duration and caller are recorded')
  t.notOk(JSON.stringify(sts.issued).match(/secret|token/i), 'the record holds no secret or token')
})

test('requests that fail SigV4 are refused with the AWS codes', async t => {
  sts.reset()
  const creds = await assumeDeploy()
  const wrongSecret = await failure(client({ ...broker, secretAccessKey: `${broker.secretAccessKey}x` }, 1).send(new GetCallerIdentityCommand({})))
  const noToken = await failure(client({ ...creds, sessionToken: undefined }, 1).send(new GetCallerIdentityCommand({})))
  const otherToken = await failure(client({ ...creds, sessionToken: `${creds.sessionToken}x` }, 1).send(new GetCallerIdentityCommand({})))
  const unknown = await failure(client({ ...broker, accessKeyId: 'AKIAUNKNOWN000000000' }, 1).send(new GetCallerIdentityCommand({})))
  t.plan(5)
  t.deepEqual([wrongSecret.name, wrongSecret.status], ['SignatureDoesNotMatch', 403], 'a wrong secret gets SignatureDoesNotMatch')
  t.deepEqual([noToken.name, noToken.status], ['InvalidToken', 403], 'an issued key without its session token is refused')
  t.deepEqual([otherToken.name, otherToken.status], ['InvalidToken', 403], 'an issued key with another session token is refused')
  t.deepEqual([unknown.name, unknown.status], ['InvalidClientTokenId', 403], 'an unknown key id gets InvalidClientTokenId')
  t.deepEqual(sts.calls, { AssumeRole: 1, GetCallerIdentity: 0, rejected: 4 }, 'refused requests count as rejected, not as calls')
})

test('issued credentials expire, and reset forgets them', async t => {
  sts.reset()
  const creds = await assumeDeploy()
  clock = new Date(Date.now() + 901_000)
  // The SDK first gets RequestExpired, corrects its clock from the answer's Date header, then retries.
  const expired = await failure(client(creds).send(new GetCallerIdentityCommand({})))
  clock = undefined
  const fresh = await assumeDeploy()
  sts.reset()
  const forgotten = await failure(client(fresh, 1).send(new GetCallerIdentityCommand({})))
  t.plan(2)
  t.deepEqual([expired.name, expired.status], ['ExpiredToken', 403], 'a used credential past its expiration gets ExpiredToken')
  t.equal(forgotten.name, 'InvalidClientTokenId', 'after reset an issued key is unknown')
})

test('AssumeRole validates its input like AWS', async t => {
  sts.reset()
  const ask = (input: Partial<AssumeRoleCommandInput>) => failure(client(broker, 1).send(new AssumeRoleCommand({ ...deploy, ...input })))
  const short = await ask({ DurationSeconds: 100 })
  const chained = await ask({ DurationSeconds: 7200 })
  const many = await ask({ RoleSessionName: 'has space', SourceIdentity: 'x' })
  const badArn = await ask({ RoleArn: 'arn:aws:iam::111122223333:user/ada' })
  const badTag = await ask({ Tags: [{ Key: 'gitlab:ref', Value: 'feat<script>' }] })
  const dupTag = await ask({ Tags: [{ Key: 'Team', Value: 'a' }, { Key: 'team', Value: 'b' }] })
  const badPolicy = await ask({ Policy: '{"Version":' })
  t.plan(9)
  t.deepEqual([short.name, short.status], ['ValidationError', 400], 'DurationSeconds below 900 is a ValidationError')
  t.match(short.message,
    /^1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900$/,
    'the message is AWS’s')
  t.match(chained.message, /1 hour session limit for roles assumed by role chaining/, 'a role-chained session over one hour is refused')
  t.match(many.message, /^2 validation errors detected: .*roleSessionName.*; .*sourceIdentity/, 'every violation is listed at once')
  t.equal(badArn.name, 'ValidationError', 'a RoleArn that is no role is refused')
  t.match(badTag.message, /tags\.1\.member\.value/, 'a tag value outside the allowed characters is refused')
  t.match(dupTag.message, /Duplicate tag keys/, 'tag keys are unique ignoring case')
  // STS answers code MalformedPolicyDocument; the SDK names it after the modeled exception.
  t.deepEqual([badPolicy.name, badPolicy.status], ['MalformedPolicyDocumentException', 400], 'a policy that is no JSON is refused')
  t.equal(sts.issued.length, 0, 'nothing is issued')
})

test('injected faults answer before any work, and the SDK retries what it may', async t => {
  sts.reset()
  sts.injectFault({ action: 'AssumeRole', status: 400, code: 'Throttling' })
  const retried = await client().send(new AssumeRoleCommand(deploy))
  const callsAfterRetry = sts.calls.AssumeRole
  sts.injectFault({ action: 'AssumeRole', status: 400, code: 'Throttling' })
  const throttled = await failure(client(broker, 1).send(new AssumeRoleCommand(deploy)))
  sts.injectFault({ status: 503, code: 'ServiceUnavailable', times: Infinity })
  const down = await failure(client(broker, 2).send(new GetCallerIdentityCommand({})))
  const stillDown = await failure(client(broker, 1).send(new AssumeRoleCommand(deploy)))
  sts.clearFaults()
  sts.injectFault({ action: 'AssumeRole', status: 403, code: 'AccessDenied', message: 'not authorized to perform: sts:TagSession' })
  const identity = await client(broker, 1).send(new GetCallerIdentityCommand({}))
  const denied = await failure(client(broker, 1).send(new AssumeRoleCommand(deploy)))
  t.plan(8)
  t.ok(retried.Credentials?.AccessKeyId, 'one Throttling answer is retried into success')
  t.equal(callsAfterRetry, 2, 'both attempts reached AssumeRole')
  t.deepEqual([throttled.name, throttled.status, throttled.message], ['Throttling', 400, 'Rate exceeded'], 'with one attempt the raw Throttling error surfaces')
  t.deepEqual([down.name, down.status], ['ServiceUnavailable', 503], 'a fault for every action answers 503 on each attempt')
  t.equal(stillDown.name, 'ServiceUnavailable', 'an Infinity fault stays until cleared')
  t.ok(identity.Arn, 'an AssumeRole fault leaves GetCallerIdentity alone')
  t.deepEqual([denied.name, denied.status, denied.message], ['AccessDenied', 403, 'not authorized to perform: sts:TagSession'],
    'AccessDenied carries its message')
  t.equal(sts.issued.length, 1, 'only the successful AssumeRole is listed')
})

test('plain HTTP: signed GET works, unsigned requests get the AWS error XML', async t => {
  sts.reset()
  const url = new URL(sts.url)
  const signer = new SignatureV4({ service: 'sts', region: 'eu-central-1', credentials: broker, sha256: Sha256 })
  const signed = await signer.sign({
    method: 'GET',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: url.host },
  })
  const got = await fetch(`${sts.url}/?Action=GetCallerIdentity&Version=2011-06-15`, { headers: signed.headers })
  const gotXml = await got.text()
  const unsigned = await fetch(`${sts.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Action=GetCallerIdentity&Version=2011-06-15' })
  const errorXml = await unsigned.text()
  t.plan(6)
  t.equal(got.status, 200, 'a signed GET in any region is answered')
  t.match(gotXml, /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/, 'the answer is a GetCallerIdentityResponse')
  t.equal(got.headers.get('content-type'), 'text/xml', 'it is text/xml')
  t.equal(unsigned.status, 403, 'an unsigned request gets 403')
  t.match(errorXml,
    /<ErrorResponse xmlns="[^"]+">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>MissingAuthenticationToken<\/Code>\s*<Message>[^<]+<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>/, 'the error is an ErrorResponse')
  t.equal(unsigned.headers.get('x-amzn-requestid')?.length, 36, 'the request id is in the x-amzn-RequestId header')
})

test('Teardown', async t => {
  await sts.close()
  t.plan(1)
  t.pass('the local STS is closed')
})
