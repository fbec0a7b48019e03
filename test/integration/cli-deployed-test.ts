// The admin CLI against a deployed stack (--region REGION --env ENV), the path a pipeline's apply job takes, with no
// AWS account: SSM (faked on loopback, every signature checked) names the stack's tables as Architect publishes them,
// and DynamoDB is dynalite holding those physical tables. The SDK finds both through AWS_ENDPOINT_URL_SSM and
// AWS_ENDPOINT_URL_DYNAMODB, as it would find a VPC endpoint; nothing in the CLI knows it is not AWS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ScanCommand } from '@aws-sdk/client-dynamodb'
import test from 'tape'
import { runCli } from '../helpers/cli'
import type { Run } from '../helpers/cli'
import { startFakeAws } from '../helpers/fake-aws'
import type { FakeAws } from '../helpers/fake-aws'
import { startTables } from '../helpers/tables'
import type { LocalTables } from '../helpers/tables'

/** What CloudFormation named the staging stack's tables, and where Architect wrote those names. */
const PHYSICAL = {
  mappings: 'TanukiStsStaging-MappingsTable-1Q2W3E4R5T6Y', audit: 'TanukiStsStaging-AuditTable-7U8I9O0P1A2S', issuerKeys: 'TanukiStsStaging-IssuerKeysTable-3D4F5G6H7J8K',
}
const PARAMETERS = {
  '/TanukiStsStaging/tables/mappings': PHYSICAL.mappings, '/TanukiStsStaging/tables/audit': PHYSICAL.audit, '/TanukiStsStaging/tables/issuer-keys': PHYSICAL.issuerKeys,
}
/** The admin's credentials (in a pipeline: the ones the broker issued to the apply job). */
const ADMIN = { accessKeyId: 'AKIAADMINFORTESTS001', secretAccessKey: 'admin-secret-for-tests-only' }
const SCOPE = 'https://gitlab.example.com/acme/payments/api'
const deployed = ['--region', 'eu-west-1', '--env', 'staging']

let aws: FakeAws
let tables: LocalTables
let dir: string
let home: string

/** The CLI as a pipeline job runs it: AWS credentials in the environment, no ~/.aws, no instance metadata. */
function cli (args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const base: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    NO_COLOR: '1',
    AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    AWS_ENDPOINT_URL_SSM: aws.url,
    AWS_ENDPOINT_URL_DYNAMODB: tables.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  }
  return runCli(args, Object.fromEntries(Object.entries({ ...base, ...env }).filter((e): e is [string, string] => e[1] !== undefined)))
}

async function mappingItems (): Promise<number> {
  const { Items } = await tables.db.send(new ScanCommand({ TableName: PHYSICAL.mappings }))
  return Items?.length ?? 0
}

function mappingsFile (): string {
  const path = join(dir, 'mappings.yaml')
  writeFileSync(path, `mappings:
  - scope: ${SCOPE}
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/payments-deploy
    pin: { project_id: "4301877" }
    conditions:
      ref: main
`)
  return path
}

test('Set up a deployed stack: SSM parameters and physical tables', async t => {
  aws = await startFakeAws({ lookup: id => (id === ADMIN.accessKeyId ? { secretAccessKey: ADMIN.secretAccessKey } : undefined), parameters: PARAMETERS })
  tables = await startTables(PHYSICAL)
  dir = mkdtempSync(join(tmpdir(), 'tanuki-cli-deployed-'))
  home = mkdtempSync(join(tmpdir(), 'tanuki-cli-home-'))
  t.pass('fake SSM and dynalite are up')
})

test('apply and list reach the stack\'s tables through the names SSM holds', async t => {
  const file = mappingsFile()
  const apply = await cli(['mappings', 'apply', file, ...deployed, '--actor', 'pipeline'])
  const stored = await mappingItems()
  const list = await cli(['mappings', 'list', ...deployed, '--json'])
  const audit = await cli(['audit', 'list', ...deployed, '--json'])
  const ssm = aws.signers.filter(s => s.service === 'ssm')
  t.plan(8)
  t.equal(apply.code, 0, `apply succeeds${apply.code ? `: ${apply.stderr}` : ''}`)
  t.match(apply.stdout, /Plan: 1 to create/, 'and prints its plan')
  t.equal(stored, 1, 'the mapping is in the stack\'s physical mappings table')
  t.deepEqual((JSON.parse(list.stdout) as Array<Record<string, unknown>>).map(m => [m.scope, m.role, m.updatedBy]), [[SCOPE, 'deploy', 'pipeline']], 'list reads it back')
  t.equal(audit.code, 0, 'audit list reads the stack\'s audit table')
  t.equal(aws.calls.GetParameters, 3, 'each command looked the table names up once')
  t.ok(ssm.every(s => s.accessKeyId === ADMIN.accessKeyId && s.region === 'eu-west-1'), 'signed with the caller\'s credentials for --region')
  t.equal(aws.calls.rejected, 0, 'and every signature verified')
})

test('apply and put to a deployed stack warn of a roleArn app.arc\'s target-roles do not cover (its broker could never assume it)', async t => {
  // This repository's app.arc: target-roles arn:aws:iam::111122223333:role/gitlab-* and .../tanuki-sts-*.
  const uncovered = await cli(['mappings', 'apply', mappingsFile(), ...deployed, '--dry-run'])
  const put = (roleArn: string) => cli(['mappings', 'put', ...deployed, '--scope', SCOPE, '--role', 'deploy', '--role-arn', roleArn, '--pin', 'project_id=4301877', '--condition', 'ref=main'])
  const putUncovered = await put('arn:aws:iam::111122223333:role/payments-deploy')
  const putCovered = await put('arn:aws:iam::111122223333:role/gitlab-payments-deploy')
  t.plan(4)
  t.match(uncovered.stderr, /warning: .*mappings\[0\]\.roleArn: arn:aws:iam::111122223333:role\/payments-deploy matches none of app\.arc's @tanuki-sts target-roles \(arn:aws:iam::111122223333:role\/gitlab-\* /,
    'apply: at the mapping\'s roleArn, naming the patterns')
  t.match(putUncovered.stderr, /warning: --role-arn: .*502 upstream_error/, 'put: at --role-arn, saying what would happen')
  t.notOk(/target-roles/.test(putCovered.stderr), 'a roleArn a pattern covers: no warning')
  t.equal(putUncovered.code, 0, 'a warning, not a refusal (the deployed app.arc may differ from this one)')
})

test('a stack that is not deployed is named, and nothing is written', async t => {
  const before = await mappingItems()
  const otherApp = await cli(['mappings', 'apply', mappingsFile(), ...deployed, '--app', 'payments-broker'])
  const production = await cli(['mappings', 'list', '--region', 'eu-west-1', '--env', 'production'])
  t.plan(5)
  t.equal(otherApp.code, 1, 'apply for an app with no parameters fails')
  t.ok(otherApp.stderr.includes('No table for app payments-broker in staging/eu-west-1: is it deployed? (looked for SSM parameter /PaymentsBrokerStaging/tables/mappings'),
    'naming the app, where it looked, and the parameter')
  t.equal(production.code, 1, 'so does an environment that was never deployed')
  t.match(production.stderr, /\/TanukiStsProduction\/tables\/mappings/, 'naming production\'s parameter')
  t.equal(await mappingItems(), before, 'nothing was written')
})

test('no AWS credentials, or no right to read SSM: says which, writes nothing', async t => {
  const before = await mappingItems()
  const bare = await cli(['mappings', 'apply', mappingsFile(), ...deployed], { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined })
  aws.denySsm = true
  const denied = await cli(['mappings', 'apply', mappingsFile(), ...deployed])
  aws.denySsm = false
  t.plan(7)
  t.equal(bare.code, 1, 'without credentials the CLI fails')
  t.match(bare.stderr, /No AWS credentials to read staging\/eu-west-1: set AWS_PROFILE or AWS_ACCESS_KEY_ID/, 'and says how to give some')
  t.equal(denied.code, 1, 'without ssm:GetParameters it fails')
  t.match(denied.stderr, /Not allowed to read the table names of staging\/eu-west-1: the caller needs ssm:GetParameters on TanukiStsStaging\/tables\/\*/, 'naming the permission')
  t.notOk(`${bare.stderr}${denied.stderr}`.includes('    at '), 'without a stack trace')
  t.notOk(`${bare.stderr}${denied.stderr}`.includes(ADMIN.secretAccessKey), 'and without a secret')
  t.equal(await mappingItems(), before, 'nothing was written')
})

test('issuers keys push stores a key set in the stack\'s issuer-keys table (named by SSM), and list reads it back', async t => {
  const { generateKeyPairSync } = await import('node:crypto')
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const file = join(dir, 'jwks.json')
  writeFileSync(file, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'gitlab-internal-1', use: 'sig', alg: 'RS256' }] }))
  const push = await cli(['issuers', 'keys', 'push', '--issuer', 'https://gitlab.internal.example', '--from-file', file, ...deployed, '--actor', 'pipeline'])
  const { Items } = await tables.db.send(new ScanCommand({ TableName: PHYSICAL.issuerKeys }))
  const list = await cli(['issuers', 'keys', 'list', ...deployed, '--json'])
  t.plan(4)
  t.equal(push.code, 0, `push succeeds${push.code ? `: ${push.stderr}` : ''}`)
  t.deepEqual(Items?.map(i => [i.issuer?.S, i.updatedBy?.S]), [['https://gitlab.internal.example', 'pipeline']], 'the item is in the stack\'s physical issuer-keys table')
  t.deepEqual((JSON.parse(list.stdout) as Array<{ issuer: string; keys: Array<{ kid: string }> }>).map(e => [e.issuer, e.keys.map(k => k.kid)]),
    [['https://gitlab.internal.example', ['gitlab-internal-1']]], 'list reads it back')
  t.equal(aws.calls.rejected, 0, 'every SSM signature verified')
})

test('trust-policy: stdout is the policy document alone, the notes go to stderr', async t => {
  const run = await cli(['trust-policy', '--broker-role-arn', 'arn:aws:iam::111122223333:role/TanukiStsStaging-Role-1A2B3C'], { AWS_ACCESS_KEY_ID: undefined })
  let policy: { Statement?: Array<{ Principal?: unknown }> } = {}
  t.plan(3)
  t.doesNotThrow(() => { policy = JSON.parse(run.stdout) as typeof policy }, 'stdout parses as one JSON document (file://trust.json)')
  t.deepEqual(policy.Statement?.[0]?.Principal, { AWS: 'arn:aws:iam::111122223333:role/TanukiStsStaging-Role-1A2B3C' }, 'naming the broker role')
  t.match(run.stderr, /aws:PrincipalTag\/gitlab:project_path/, 'the ABAC example is on stderr')
})

test('explain names the flag whose value is wrong, not the broker variable it stands for', async t => {
  const run = await cli(['explain', '--local', '--token', 'a.b.c', '--role', 'deploy', '--issuer', 'http://127.0.0.1:4100/'])
  t.plan(2)
  t.equal(run.code, 1, 'refused')
  t.match(run.stderr, /error: --issuer has "http:\/\/127\.0\.0\.1:4100\/": write the issuer exactly/, 'naming --issuer')
})

test('Teardown', async t => {
  await aws.close()
  await tables.stop()
  rmSync(dir, { recursive: true, force: true })
  rmSync(home, { recursive: true, force: true })
  t.pass('stopped')
})
