// A mapping is plain data, or it is invalid, through the real entry points: table items with a set, binary or NULL
// where the format has something else (written straight to sandbox's table, then a request that must get 403 and no
// credentials), `mappings list` and `get` on them, mapping files with tags beyond YAML's core schema (`validate` and
// `apply --local`), and `mappings put --condition __proto__=x`. Each refusal names the rule that refused it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import test from 'tape'
import { parseMapping } from '../../src/broker/mapping'
import { toItem } from '../../src/broker/mappings'
import { formatPath } from '../../src/cli/problems'
import { ROLE_ARN, scanAll, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { localCliEnv, runCli } from '../helpers/cli'
import type { Run } from '../helpers/cli'
import { call } from './helpers/harness'
import { POLICY } from './helpers/mapping-fixtures'
import { Witness } from './helpers/witness'

type Path = Array<string | number>

let env: BrokerEnv
let dir: string
let scope: string
const witness = new Witness()
const cli = (args: string[]): Promise<Run> => runCli(args, localCliEnv(env))
const noStack = /\n\s+at \S|TypeError|node_modules/

test('Set up env', async t => {
  env = await startBrokerEnv()
  dir = mkdtempSync(join(tmpdir(), 'tanuki-shapes-'))
  scope = `${env.issuer.url}/acme/payments/api`
  t.ok(env.url, `broker running at ${env.url}`)
})

/** The plain mapping the attacks rewrite: protected `main` only, sessions narrowed to one VPC. */
const intended = () => ({ scope, roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' }, sessionPolicy: JSON.stringify(POLICY) })

interface ItemCase {
  readonly name: string
  readonly role: string
  /** The attributes that replace the plain mapping's. */
  readonly attrs: Record<string, AttributeValue>
  /** The rule that refuses it: the attribute's path, and its type as the problem names it. */
  readonly path: Path
  readonly what: string
  /** The ref of the token sent: `develop` where "no conditions" was the old reading, `main` where it was a wider session. */
  readonly ref: 'main' | 'develop'
}

const policyItem = (condition: AttributeValue): AttributeValue => ({ M: { Version: { S: '2012-10-17' }, Statement: { L: [{ M: { Effect: { S: 'Allow' }, Action: { S: 's3:GetObject' }, Resource: { S: '*' }, Condition: condition } }] } } })
const ITEM_CASES: ItemCase[] = [
  { name: 'conditions as a string set (SS)', role: 'c-ss', attrs: { conditions: { SS: ['main'] } }, path: ['conditions'], what: 'a string set (SS)', ref: 'develop' },
  { name: 'conditions as binary (B)', role: 'c-b', attrs: { conditions: { B: new Uint8Array([1]) } }, path: ['conditions'], what: 'binary (B)', ref: 'develop' },
  { name: 'conditions as NULL', role: 'c-null', attrs: { conditions: { NULL: true } }, path: ['conditions'], what: 'NULL', ref: 'develop' },
  { name: 'conditions.ref as a string set (SS)', role: 'c-ref-ss', attrs: { conditions: { M: { ref: { SS: ['main'] } } } }, path: ['conditions', 'ref'], what: 'a string set (SS)', ref: 'develop' },
  { name: 'conditions.ref_protected as NULL', role: 'c-prot-null', attrs: { conditions: { M: { ref: { L: [{ S: 'main' }] }, ref_protected: { NULL: true } } } }, path: ['conditions', 'ref_protected'], what: 'NULL', ref: 'develop' },
  { name: 'pin as a number set (NS)', role: 'p-ns', attrs: { pin: { NS: ['4301877'] } }, path: ['pin'], what: 'a number set (NS)', ref: 'main' },
  { name: 'sessionTags as a string set (SS)', role: 't-ss', attrs: { sessionTags: { SS: ['project_path'] } }, path: ['sessionTags'], what: 'a string set (SS)', ref: 'main' },
  { name: 'a session policy\'s Condition as a string set (SS)', role: 'sp-ss', attrs: { sessionPolicy: policyItem({ SS: ['StringEquals'] }) }, path: ['sessionPolicy', 'Statement', 0, 'Condition'], what: 'a string set (SS)', ref: 'main' },
  { name: 'a session policy\'s Condition as NULL', role: 'sp-null', attrs: { sessionPolicy: policyItem({ NULL: true }) }, path: ['sessionPolicy', 'Statement', 0, 'Condition'], what: 'NULL', ref: 'main' },
  { name: 'a session policy as binary (B)', role: 'sp-b', attrs: { sessionPolicy: { B: Buffer.from(JSON.stringify(POLICY)) } }, path: ['sessionPolicy'], what: 'binary (B)', ref: 'main' },
  { name: 'enabled as NULL', role: 'e-null', attrs: { enabled: { NULL: true } }, path: ['enabled'], what: 'NULL', ref: 'main' },
  { name: 'maxDuration as a fraction', role: 'd-frac', attrs: { maxDuration: { N: '900.5' } }, path: ['maxDuration'], what: 'the number 900.5, not a whole number', ref: 'main' },
]
/** The rule as `mappings list` and `get` print it: `sessionPolicy.Statement[0].Condition: is NULL`. */
const printed = (c: ItemCase) => `${formatPath(c.path)}: is ${c.what}`

test('control: the plainly written item grants protected main, and denies protected develop', async t => {
  await env.db.send(new PutItemCommand({ TableName: env.tables.mappings, Item: { ...toItem(parseMapping({ ...intended(), role: 'plain' })) } }))
  const main = await call(env, witness, { token: await env.mint(), query: 'role=plain' })
  const develop = await call(env, witness, { token: await env.mint({ ref: 'develop', ref_path: 'refs/heads/develop' }), query: 'role=plain' })
  t.equal(main.status, 200, 'main: credentials')
  t.equal(develop.status, 403, 'develop: 403')
  t.equal(develop.body.error, 'access_denied', 'by its condition on ref')
  env.sts.reset()
})

test(`table items: ${ITEM_CASES.length} items with a set, binary, NULL or fraction where the format has something else grant nothing`, async t => {
  for (const c of ITEM_CASES) {
    const item = { ...toItem(parseMapping({ ...intended(), role: c.role })), ...c.attrs }
    await env.db.send(new PutItemCommand({ TableName: env.tables.mappings, Item: item }))
  }
  const answers = await Promise.all(ITEM_CASES.map(async c => {
    const claims = c.ref === 'develop' ? { ref: 'develop', ref_path: 'refs/heads/develop' } : {}
    return call(env, witness, { token: await env.mint(claims), query: `role=${c.role}` })
  }))
  ITEM_CASES.forEach((c, i) => {
    const r = answers[i]
    t.equal(r.status, 403, `${c.name}: 403`)
    t.equal(r.body.error, 'access_denied', `${c.name}: access_denied`)
    t.match(String(r.body.message), /is invalid, so it grants nothing/, `${c.name}: the mapping is named invalid`)
    t.notOk('AccessKeyId' in r.body || 'SecretAccessKey' in r.body, `${c.name}: no credentials`)
    const logged = env.logs.find(l => l.includes('mapping does not parse; denying') && l.includes(`"role":"${c.role}"`))
    t.ok(logged?.includes(`"path":${JSON.stringify(c.path)},"message":"is ${c.what}`), `${c.name}: the broker logs why (${printed(c)})`)
  })
  t.equal(env.sts.calls.AssumeRole, 0, 'the local STS was never called')
  const roles = new Set(ITEM_CASES.map(c => c.role))
  const denials = (await env.auditRecords()).filter(r => roles.has(r.role))
  t.ok(denials.length === ITEM_CASES.length && denials.every(r => r.outcome === 'denied'), 'each denial audited')
})

test('mappings list marks each such item invalid, with its rule; mappings get says what is wrong', async t => {
  const json = await cli(['mappings', 'list', '--local', '--json'])
  const table = await cli(['mappings', 'list', '--local'])
  const entries = JSON.parse(json.stdout) as Array<{ role: string; valid: boolean; problems?: Array<{ path: string; message: string }>; item?: Record<string, unknown> }>
  for (const c of ITEM_CASES) {
    const entry = entries.find(e => e.role === c.role)
    t.equal(entry?.valid, false, `list --json: ${c.name} is invalid`)
    t.ok(entry?.problems?.some(p => `${p.path}: ${p.message}`.startsWith(printed(c))), `list --json: with "${printed(c)}"`)
    t.ok(table.stdout.includes(`${scope} ${c.role}: ${printed(c)}`), `list: ${c.name}, with its rule`)
  }
  t.equal(entries.find(e => e.role === 'plain')?.valid, true, 'the plainly written item is valid')
  t.deepEqual(entries.find(e => e.role === 'c-ss')?.item?.conditions, { SS: ['main'] }, 'the stored value shown as stored, not as {}')
  const get = await cli(['mappings', 'get', scope, 'c-ss', '--local'])
  t.equal(get.code, 0, 'get shows an invalid mapping')
  t.match(get.stdout, /# INVALID: the broker denies every request this mapping decides\.\n#\s+conditions: is a string set \(SS\): a mapping is written with text \(S\)/, 'and says what is wrong')
  t.match(get.stdout, /conditions:\n\s+SS:\n\s+- main/, 'and shows the set as stored')
})

/** A file with the intended mapping, `conditions` (and more) written as given. */
function mappingFile (name: string, conditionsYaml: string, extra = ''): string {
  const path = join(dir, name)
  writeFileSync(path, `mappings:
  - scope: ${scope}
    role: deploy
    roleArn: ${ROLE_ARN}
    pin: { project_id: "4301877" }
    conditions: ${conditionsYaml}
${extra}`)
  return path
}

const FILE_CASES: Array<[string, string, string, string]> = [
  ['conditions: !!omap', 'omap.yaml', '!!omap [ {ref: main} ]', ''],
  ['conditions: !!set', 'set.yaml', '!!set { main }', ''],
  ['conditions: !!binary', 'binary.yaml', '!!binary bWFpbg==', ''],
  ['conditions: !!timestamp', 'timestamp.yaml', '!!timestamp 2001-12-14', ''],
]

test(`mapping files: ${FILE_CASES.length + 1} files with a tag beyond the core schema fail validate and apply at file:line:col, and write nothing`, async t => {
  await env.reset()
  const before = await scanAll(env.db, env.tables.mappings)
  const cases = [...FILE_CASES.map(([name, file, conditions]) => [name, mappingFile(file, conditions), conditions.split(' ')[0]] as const),
    ['sessionPolicy Condition: !!omap', mappingFile('policy.yaml', '{ ref: main }', `    sessionPolicy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Action: s3:GetObject, Resource: "*", Condition: !!omap [ {StringEquals: {a: b}} ] }
`), '!!omap'] as const]
  for (const [name, file, tag] of cases) {
    // Where the tag is written: the line and column the problem must name.
    const lines = readFileSync(file, 'utf8').split('\n')
    const line = lines.findIndex(l => l.includes(tag)) + 1
    const col = lines[line - 1].indexOf(tag) + 1
    const validate = await cli(['mappings', 'validate', file])
    const apply = await cli(['mappings', 'apply', file, '--local'])
    const rule = `${file}:${line}:${col}: `
    t.equal(validate.code, 1, `${name}: validate fails`)
    t.ok(validate.stderr.includes(rule) && validate.stderr.includes(`${tag} is not allowed: a mapping file is plain YAML`), `${name}: at ${line}:${col}, naming ${tag}`)
    t.equal(apply.code, 1, `${name}: apply fails`)
    t.ok(apply.stderr.includes(rule) && /nothing was written/.test(apply.stderr), `${name}: apply says where, and that nothing was written`)
    t.equal(apply.stdout, '', `${name}: apply prints no plan`)
  }
  t.deepEqual(await scanAll(env.db, env.tables.mappings), before, 'the table is unchanged')
})

test('mappings put --condition with a claim named like an object\'s own property: a clear error, nothing written', async t => {
  const before = await scanAll(env.db, env.tables.mappings)
  for (const claim of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    const put = await cli(['mappings', 'put', '--local', '--scope', scope, '--role', 'deploy', '--role-arn', ROLE_ARN, '--pin', 'project_id=4301877', '--condition', `${claim}=x`])
    t.equal(put.code, 1, `${claim}: exit 1`)
    t.ok(put.stderr.includes(`--condition ${claim}: "${claim}" is not a GitLab ID-token claim`), `${claim}: the flag and the rule that refused it`)
    t.ok(put.stderr.includes('nothing was written') && !noStack.test(put.stderr), `${claim}: nothing written, no crash`)
  }
  t.deepEqual(await scanAll(env.db, env.tables.mappings), before, 'the table is unchanged')
})

test('no secret appears in any log line, error body or audit record', async t => {
  witness.auditRecords.push(...await env.auditRecords())
  witness.check(t, env.logs)
})

test('Teardown', async t => {
  await env.stop()
  rmSync(dir, { recursive: true, force: true })
  t.pass('sandbox, issuer and STS stopped')
})
