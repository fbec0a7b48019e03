// The admin CLI as users run it (`node bin/tanuki-sts.js ...`, a real subprocess) against the broker in sandbox:
// mappings by hand and from files, explain against the broker's own answers, the audit trail, local tokens.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { decodeJwt } from 'jose'
import test from 'tape'
import { ApplyConflict } from '../../src/broker/errors'
import { createMappingAdmin } from '../../src/broker/mappings'
import { parseMapping } from '../../src/broker/mapping'
import { executePlan } from '../../src/cli/apply'
import { computePlan } from '../../src/cli/plan'
import { AUDIENCE, ROLE_ARN, scanAll, startBrokerEnv } from '../helpers/broker-env'
import type { BrokerEnv } from '../helpers/broker-env'
import { localCliEnv, runCli, runCliOnTerminal } from '../helpers/cli'
import type { Run } from '../helpers/cli'
import { post } from '../helpers/post'

let env: BrokerEnv
let dir: string
let scope: string
let groupScope: string

/** Runs the CLI as a user would, on the test sandbox's tables; never on a terminal, never in colour. */
const cli = (args: string[], extraEnv: Record<string, string> = {}): Promise<Run> => runCli(args, localCliEnv(env, extraEnv))
/** The same on a terminal, answering its question with `answer`. */
const cliOnTerminal = (args: string[], answer: string): Promise<Run> => runCliOnTerminal(args, localCliEnv(env), answer)

const local = ['--local']
const verify = ['--issuer', '', '--audience', AUDIENCE]

function file (name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

function mappingsYaml (deployDuration = 3600, withGroup = true): string {
  return `mappings:
  - scope: ${scope}
    role: deploy
    roleArn: ${ROLE_ARN}
    pin: { project_id: "4301877" }
    conditions:
      ref: main
    maxDuration: ${deployDuration}
${withGroup
    ? `  - scope: ${groupScope}
    role: read-only
    roleArn: arn:aws:iam::111122223333:role/readonly
    pin: { namespace_id: "72815" }
    conditions:
      ref_protected: ["true", "false"]
`
    : ''}`
}

test('Set up env', async t => {
  env = await startBrokerEnv()
  dir = mkdtempSync(join(tmpdir(), 'tanuki-cli-'))
  scope = `${env.issuer.url}/acme/payments/api`
  groupScope = `${env.issuer.url}/acme/payments/*`
  verify[1] = env.issuer.url
  const help = await cli(['--help'])
  t.plan(2)
  t.equal(help.code, 0, 'the CLI runs')
  t.match(help.stdout, /Usage: tanuki-sts/, 'and prints its usage')
})

test('put, get, list and delete round trip', async t => {
  await env.reset()
  const put = await cli(['mappings', 'put', ...local, '--scope', scope, '--role', 'deploy', '--role-arn', ROLE_ARN, '--pin', 'project_id=4301877',
    '--condition', 'ref=main', '--condition', 'environment=production', '--condition', 'environment=staging', '--max-duration', '1800', '--actor', 'tester'])
  const get = await cli(['mappings', 'get', scope, 'deploy', ...local, '--json'])
  const got = JSON.parse(get.stdout) as Record<string, unknown>
  const yaml = await cli(['mappings', 'get', scope, 'deploy', ...local])
  const again = await cli(['mappings', 'put', ...local, '--scope', scope, '--role', 'deploy', '--role-arn', ROLE_ARN, '--pin', 'project_id=4301877',
    '--condition', 'ref=main', '--condition', 'environment=production', '--condition', 'environment=staging', '--max-duration', '1800'])
  const change = await cli(['mappings', 'put', ...local, '--scope', scope, '--role', 'deploy', '--role-arn', ROLE_ARN, '--pin', 'project_id=4301877',
    '--condition', 'ref=main', '--max-duration', '900'])
  const list = await cli(['mappings', 'list', ...local, '--json'])
  const table = await cli(['mappings', 'list', ...local])
  const refused = await cli(['mappings', 'delete', scope, 'deploy', ...local])
  const stillThere = (await scanAll(env.db, env.tables.mappings)).length
  const deleted = await cli(['mappings', 'delete', scope, 'deploy', ...local, '--yes'])
  const gone = await cli(['mappings', 'get', scope, 'deploy', ...local])
  t.plan(17)
  t.equal(put.code, 0, 'put succeeds')
  t.equal(get.code, 0, 'get succeeds')
  t.deepEqual(got.conditions, { ref: ['main'], environment: ['production', 'staging'] }, 'the conditions were stored, a repeated claim as a list')
  t.equal(got.updatedBy, 'tester', 'updatedBy is the --actor')
  t.match(String(got.updatedAt), /^\d{4}-\d\d-\d\dT/, 'updatedAt is an ISO time')
  t.ok(parseMapping({ ...(parseMappingFromYaml(yaml.stdout)) }), 'get without --json prints a mapping file that parses')
  t.match(again.stderr, /Unchanged/, 'putting the same mapping again writes nothing')
  t.match(change.stdout, /- maxDuration: 1800\n\s+\+ maxDuration: 900/, 'a changed put prints its diff')
  t.deepEqual((JSON.parse(list.stdout) as Array<Record<string, unknown>>).map(m => [m.scope, m.role, m.valid]), [[scope, 'deploy', true]], 'list --json shows it')
  t.match(table.stdout, /SCOPE\s+ROLE\s+ROLE ARN\s+PIN\s+CONDITIONS\s+UPDATED/, 'list prints a table')
  t.equal(refused.code, 1, 'delete without a terminal and without --yes is refused')
  t.match(refused.stderr, /--yes/, 'and says how to confirm')
  t.equal(stillThere, 1, 'the refused delete deleted nothing')
  t.equal(deleted.code, 0, 'delete --yes succeeds')
  t.equal(gone.code, 1, 'get of a deleted mapping fails')
  t.match(gone.stderr, /No mapping for .*\(`tanuki-sts mappings list --local` shows what there is\.\)/, 'and says there is none, with a list command that runs as written')
  t.notOk(gone.stderr.includes('    at '), 'without a stack trace')
})

test('a scope given as a path says that a scope is a URL', async t => {
  await env.reset()
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' } })
  const list = await cli(['mappings', 'list', ...local, '--scope', 'acme/payments/api'])
  const get = await cli(['mappings', 'get', 'acme/payments/api', 'deploy', ...local])
  t.plan(3)
  t.equal(list.code, 0, 'a list that matches nothing is not an error')
  t.match(list.stderr, /No mappings match in .*\. --scope takes a whole scope: a GitLab project URL \(https:\/\/gitlab\.example\.com\/group\/project\)/, 'but says what --scope takes')
  t.match(get.stderr, /No mapping for "acme\/payments\/api": a scope is a GitLab project URL/, 'as get does')
})

function parseMappingFromYaml (text: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parse } = require('yaml') as { parse (s: string): { mappings: Array<Record<string, unknown>> } }
  return parse(text).mappings[0]
}

test('bad input writes nothing and says what to fix', async t => {
  await env.reset()
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' } })
  const before = await scanAll(env.db, env.tables.mappings)
  const badPut = await cli(['mappings', 'put', ...local, '--scope', scope, '--role', 'deploy', '--role-arn', ROLE_ARN, '--pin', 'project_id=4301877', '--condition', 'reff=main'])
  const badFile = file('bad.yaml', `${mappingsYaml(1800)}  - scope: ${env.issuer.url}/acme/tools/cli
    role: deploy
    roleArn: ${ROLE_ARN}
    pin: { project_id: "99" }
    conditions:
      reff: main
`)
  const validate = await cli(['mappings', 'validate', badFile])
  const apply = await cli(['mappings', 'apply', badFile, ...local])
  const after = await scanAll(env.db, env.tables.mappings)
  const good = await cli(['mappings', 'validate', file('good.yaml', mappingsYaml())])
  t.plan(9)
  t.equal(badPut.code, 1, 'a put with an unknown claim fails')
  t.match(badPut.stderr, /--condition reff: "reff" is not a GitLab ID-token claim/, 'naming the flag')
  t.equal(validate.code, 1, 'validate fails on a typo')
  t.ok(validate.stderr.includes(`${badFile}:20:7: mappings[2].conditions.reff: "reff" is not a GitLab ID-token claim`), 'at its file, line and column')
  t.equal(apply.code, 1, 'apply of an invalid file fails')
  t.ok(apply.stderr.includes(`${badFile}:20:7:`), 'with the same message')
  t.equal(apply.stdout, '', 'and prints no plan')
  t.deepEqual(after, before, 'the table is unchanged')
  t.equal(good.stdout.trim(), '2 mappings valid', 'a valid file is counted')
})

test('apply creates, updates with a diff, prunes; --dry-run writes nothing', async t => {
  await env.reset()
  const first = file('m1.yaml', mappingsYaml(3600))
  const dry = await cli(['mappings', 'apply', first, ...local, '--dry-run'])
  const afterDry = await scanAll(env.db, env.tables.mappings)
  const create = await cli(['mappings', 'apply', first, ...local, '--actor', 'pipeline'])
  const created = await scanAll(env.db, env.tables.mappings)
  const again = await cli(['mappings', 'apply', first, ...local])
  const update = await cli(['mappings', 'apply', file('m2.yaml', mappingsYaml(1800)), ...local])
  const updated = await createMappingAdmin(env.db, env.tables.mappings).read(scope, 'deploy')
  const only = file('m3.yaml', mappingsYaml(1800, false))
  const keep = await cli(['mappings', 'apply', only, ...local, '--json'])
  const prune = await cli(['mappings', 'apply', only, ...local, '--prune'])
  const pruned = await scanAll(env.db, env.tables.mappings)
  t.plan(17)
  t.equal(dry.code, 0, 'a dry run succeeds')
  t.match(dry.stdout, /\+ create {2}.*acme\/payments\/api {2}deploy/, 'it prints the creates')
  t.match(dry.stdout, /Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged\./, 'and the summary')
  t.equal(afterDry.length, 0, 'a dry run writes nothing')
  t.equal(create.code, 0, 'apply succeeds')
  t.equal(created.length, 2, 'both mappings are created')
  t.ok(created.every(i => i.updatedBy === 'pipeline' && typeof i.updatedAt === 'string'), 'stamped with who and when')
  t.match(again.stdout, /Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged\./, 'applying the same file again changes nothing')
  t.match(update.stdout, /~ update {2}.*deploy\n\s+- maxDuration: 3600\n\s+\+ maxDuration: 1800/, 'an edited file is an update with its diff')
  t.match(update.stdout, /Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged\./, 'and the summary counts it')
  t.equal(updated && 'maxDuration' in updated.mapping ? updated.mapping.maxDuration : undefined, 1800, 'the table has the new value')
  const plan = JSON.parse(keep.stdout) as { summary: Record<string, number>; applied: boolean; kept: unknown }
  t.deepEqual(plan.summary, { create: 0, update: 0, delete: 0, unchanged: 1, kept: 1 }, 'without --prune a dropped mapping is kept (--json)')
  t.deepEqual(plan.kept, [{ scope: groupScope, role: 'read-only' }], 'and named, since it still grants')
  t.equal(plan.applied, false, 'and nothing is applied')
  t.match(prune.stdout, /- delete {2}.*acme\/payments\/\* {2}read-only.*\(arn:aws:iam::111122223333:role\/readonly\)/, 'with --prune it is deleted, its role ARN shown')
  t.equal(pruned.length, 1, 'one mapping is left')
  t.equal(pruned[0].scope, scope, 'the one the file names')
})

test('apply --dry-run --detailed-exitcode: 2 while the plan has changes, 0 once it has none (as terraform plan)', async t => {
  await env.reset()
  const f = file('detailed.yaml', mappingsYaml())
  const pending = await cli(['mappings', 'apply', f, ...local, '--dry-run', '--detailed-exitcode'])
  const written = await scanAll(env.db, env.tables.mappings)
  await cli(['mappings', 'apply', f, ...local])
  const none = await cli(['mappings', 'apply', f, ...local, '--dry-run', '--detailed-exitcode'])
  const alone = await cli(['mappings', 'apply', f, ...local, '--detailed-exitcode'])
  t.equal(pending.code, 2, 'changes to make: exit 2')
  t.match(pending.stdout, /Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged\./, 'after printing the plan')
  t.equal(written.length, 0, 'and nothing is written')
  t.equal(none.code, 0, 'nothing to change: exit 0')
  t.equal(alone.code, 1, 'without --dry-run it is refused')
  t.match(alone.stderr, /--detailed-exitcode goes with --dry-run/, 'saying what to add')
  t.end()
})

test('apply --prune at a terminal asks before deleting; a pipeline (no terminal) and --yes do not ask', async t => {
  await env.reset()
  await cli(['mappings', 'apply', file('both.yaml', mappingsYaml()), ...local])
  const only = file('one.yaml', mappingsYaml(3600, false))
  const declined = await cliOnTerminal(['mappings', 'apply', only, ...local, '--prune'], 'n')
  const endOfInput = await cliOnTerminal(['mappings', 'apply', only, ...local, '--prune'], '\u0004')
  const asJson = await cliOnTerminal(['mappings', 'apply', only, ...local, '--prune', '--json'], 'n')
  const kept = await scanAll(env.db, env.tables.mappings)
  const accepted = await cliOnTerminal(['mappings', 'apply', only, ...local, '--prune'], 'y')
  const left = await scanAll(env.db, env.tables.mappings)
  t.match(declined.stdout, /- delete {2}.*read-only[\s\S]*Delete 1 mapping\(s\) from .*, as planned above\? \[y\/N\]/, 'the plan, then the question')
  t.equal(declined.code, 1, 'no: exit 1')
  t.match(declined.stdout, /Nothing was written\./, 'saying nothing was written')
  t.equal(endOfInput.code, 1, 'Ctrl-D at the question is a no too: exit 1')
  t.match(endOfInput.stdout, /Nothing was written\./, 'saying nothing was written')
  t.equal(asJson.code, 1, 'with --json the question is asked all the same (on stderr), and no refuses')
  t.match(asJson.stdout, /\[y\/N\]/, 'the question was asked')
  t.equal(kept.length, 2, 'and both mappings are still there')
  t.equal(accepted.code, 0, 'yes: the plan is applied')
  t.equal(left.length, 1, 'and the mapping no file names is deleted')
  await cli(['mappings', 'apply', file('both2.yaml', mappingsYaml()), ...local])
  const yes = await cliOnTerminal(['mappings', 'apply', only, ...local, '--prune', '--yes'], '')
  t.equal(yes.code, 0, '--yes at a terminal applies without asking')
  t.notOk(yes.stdout.includes('[y/N]'), 'no question asked')
  t.end()
})

test('--prune with files that hold no mappings is refused: it would empty the table', async t => {
  await env.reset()
  await cli(['mappings', 'apply', file('full.yaml', mappingsYaml()), ...local])
  const empty = file('empty.yaml', 'mappings: []\n')
  const dry = await cli(['mappings', 'apply', empty, ...local, '--prune', '--dry-run'])
  const refused = await cli(['mappings', 'apply', empty, ...local, '--prune'])
  const left = await scanAll(env.db, env.tables.mappings)
  t.equal(dry.code, 1, 'a dry run fails too, so a merge request\'s plan job fails before the apply would')
  t.match(dry.stdout, /Plan: 0 to create, 0 to update, 2 to delete/, 'after showing what it would do: both deletions')
  t.match(dry.stderr, /Refusing to --prune with files that hold no mappings: .*, so apply would refuse this too/, 'saying the apply would be refused')
  t.equal(refused.code, 1, 'the real apply is refused')
  t.match(refused.stderr, /Refusing to --prune with files that hold no mappings: that would delete all 2 stored mapping\(s\)/, 'saying why')
  t.equal(left.length, 2, 'and nothing was deleted')
  t.end()
})

test('apply warns about a scope on no issuer the broker trusts (it could never match), and still applies', async t => {
  await env.reset()
  const wrongHost = scope.replace('127.0.0.1', 'localhost')
  const run = await cli(['mappings', 'apply', file('localhost.yaml', `mappings:
  - scope: ${wrongHost}
    role: deploy
    roleArn: ${ROLE_ARN}
    pin: { project_id: "4301877" }
`), ...local, '--json'])
  const out = JSON.parse(run.stdout) as { applied: boolean; warnings: Array<{ text: string }> }
  t.equal(run.code, 0, 'applied: a warning does not stop it')
  t.ok(out.applied, 'and written')
  t.match(out.warnings.map(w => w.text).join('\n'), /localhost\.yaml:2:5: mappings\[0\]\.scope: no issuer this broker trusts \(http:\/\/127\.0\.0\.1:\d+\) begins this scope, so it can never match/,
    'the warning names the scope, the trusted issuer and the consequence')
  t.end()
})

test('put warns, as apply does, about a scope on no issuer the broker trusts, and still writes', async t => {
  await env.reset()
  const wrongHost = scope.replace('127.0.0.1', 'localhost')
  const run = await cli(['mappings', 'put', ...local, '--scope', wrongHost, '--role', 'deploy', '--role-arn', ROLE_ARN, '--pin', 'project_id=4301877'])
  const right = await cli(['mappings', 'put', ...local, '--scope', scope, '--role', 'deploy', '--role-arn', ROLE_ARN, '--pin', 'project_id=4301877'])
  const stored = await createMappingAdmin(env.db, env.tables.mappings).read(wrongHost, 'deploy')
  t.equal(run.code, 0, 'written: a warning does not stop it')
  t.ok(stored, 'and stored')
  t.match(run.stderr, /warning: --scope: no issuer this broker trusts \(http:\/\/127\.0\.0\.1:\d+\) begins this scope, so it can never match/,
    'named by its flag, with the trusted issuer and the consequence')
  t.doesNotMatch(right.stderr, /--scope/, 'a scope on the trusted issuer gets no warning')
  t.end()
})

test('an invalid stored mapping is listed as invalid, and apply rewrites it', async t => {
  await env.reset()
  await env.db.send(new PutItemCommand({ TableName: env.tables.mappings, Item: marshall({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { reff: 'main' } }) }))
  const list = await cli(['mappings', 'list', ...local, '--json'])
  const table = await cli(['mappings', 'list', ...local])
  const apply = await cli(['mappings', 'apply', file('fix.yaml', mappingsYaml(3600, false)), ...local])
  const fixed = await createMappingAdmin(env.db, env.tables.mappings).read(scope, 'deploy')
  const entry = (JSON.parse(list.stdout) as Array<{ valid: boolean; problems: Array<{ path: string; message: string }> }>)[0]
  t.plan(5)
  t.equal(entry.valid, false, 'list --json marks it invalid')
  t.deepEqual(entry.problems, [{ path: 'conditions.reff', message: '"reff" is not a GitLab ID-token claim; did you mean "ref"?' }], 'with its problems')
  t.match(table.stdout, /invalid/, 'the table marks it too')
  t.match(apply.stdout, /~ update .*\(stored mapping is invalid\)\n\s+\+ conditions\.ref: \["main"\]\n\s+- conditions\.reff: "main"/, 'apply plans an update against the stored item')
  t.equal(fixed?.mapping instanceof Error, false, 'after which it parses')
})

test('concurrent applies: the writer that planned on stale state fails and writes nothing', async t => {
  await env.reset()
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, updatedAt: '2026-01-01T00:00:00.000Z' })
  const admin = createMappingAdmin(env.db, env.tables.mappings)
  const base = { scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' } }
  // Two applies plan from the same state, then both write: conditional writes let exactly one through.
  const stored = await admin.list()
  const a = computePlan([parseMapping({ ...base, maxDuration: 1800 })], stored, { prune: false })
  const b = computePlan([parseMapping({ ...base, maxDuration: 2400 })], stored, { prune: false })
  const results = await Promise.allSettled([executePlan(admin, a, 'alice'), executePlan(admin, b, 'bob')])
  const winner = await admin.read(scope, 'deploy')
  const fulfilled = results.filter(r => r.status === 'fulfilled')
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  // Two creates of the same new mapping race the same way.
  const newScope = `${env.issuer.url}/acme/payments/web`
  const fresh = await admin.list()
  const creates = await Promise.allSettled(['alice', 'bob'].map(who =>
    executePlan(admin, computePlan([parseMapping({ ...base, scope: newScope, description: who })], fresh, { prune: false }), who)))
  t.plan(7)
  t.equal(fulfilled.length, 1, 'exactly one update wins')
  t.equal(rejected.length, 1, 'exactly one loses')
  t.ok(rejected[0]?.reason instanceof ApplyConflict, 'the loser gets a conflict')
  t.match(String(rejected[0]?.reason?.message), /changed by someone else since it was read; nothing was written[\s\S]*Re-run/, 'which tells the user to re-run')
  const who = winner && 'updatedBy' in winner.mapping ? winner.mapping.updatedBy : undefined
  const duration = winner && 'maxDuration' in winner.mapping ? winner.mapping.maxDuration : undefined
  t.deepEqual([who, duration], who === 'alice' ? ['alice', 1800] : ['bob', 2400], 'the table holds the winner\'s whole mapping')
  t.equal(creates.filter(r => r.status === 'fulfilled').length, 1, 'exactly one of two racing creates wins')
  t.ok(creates.some(r => r.status === 'rejected' && r.reason instanceof ApplyConflict), 'the other create gets a conflict')
})

test('explain agrees with the broker', async t => {
  await env.reset()
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  await env.putMapping({ scope: groupScope, role: 'deploy', roleArn: ROLE_ARN, pin: { namespace_id: '72815' }, conditions: { ref: ['main', 'feature'] } })
  await env.putMapping({ scope, role: 'once', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, maxUses: 1 })
  const cases: Array<{ name: string; claims: Record<string, unknown>; role: string; status: number; condition?: string }> = [
    { name: 'a matching token is allowed', claims: {}, role: 'deploy', status: 200 },
    { name: 'a role with no mapping is denied', claims: {}, role: 'nothing', status: 403, condition: 'mapping' },
    { name: 'a failed condition is denied, and the broader group mapping does not take over', claims: { ref: 'feature' }, role: 'deploy', status: 403, condition: 'ref' },
    { name: 'an unprotected ref is denied by default', claims: { ref_protected: 'false' }, role: 'deploy', status: 403, condition: 'ref_protected' },
    { name: 'a wrong pin is denied', claims: { project_id: '1' }, role: 'deploy', status: 403, condition: 'pin.project_id' },
  ]
  t.plan(cases.length * 3 + 8)
  for (const c of cases) {
    const token = await env.mint(c.claims)
    const explained = await cli(['explain', ...local, ...verify, '--token', token, '--role', c.role, '--json'])
    const out = JSON.parse(explained.stdout) as { verdict: { status: number; denial?: { condition: string } } }
    const status = (await post(env.url, token, `role=${c.role}`)).status
    t.equal(out.verdict.status, status, `${c.name}: explain says ${out.verdict.status}, the broker answers ${status}`)
    t.equal(status, c.status, `${c.name}: as expected`)
    t.equal(out.verdict.denial?.condition, c.condition, `${c.name}: for the expected reason`)
  }
  const once = await env.mint()
  const beforeUse = JSON.parse((await cli(['explain', ...local, ...verify, '--token', once, '--role', 'once', '--json'])).stdout) as { verdict: { status: number } }
  const firstUse = (await post(env.url, once, 'role=once')).status
  const afterUse = JSON.parse((await cli(['explain', ...local, ...verify, '--token', once, '--role', 'once', '--json'])).stdout) as { verdict: { status: number; denial?: { condition: string } } }
  const secondUse = (await post(env.url, once, 'role=once')).status
  t.deepEqual([beforeUse.verdict.status, firstUse], [200, 200], 'maxUses: before the use, explain and the broker allow')
  t.deepEqual([afterUse.verdict.status, afterUse.verdict.denial?.condition, secondUse], [403, 'maxUses', 403], 'after it, both deny for maxUses')

  const forged = await env.mint({}, { audience: 'https://someone-else.example' })
  const invalid = await cli(['explain', ...local, ...verify, '--token', forged, '--role', 'deploy'])
  t.deepEqual([invalid.code, (await post(env.url, forged, 'role=deploy')).status], [1, 401], 'a token with the wrong audience: explain fails, the broker answers 401')
  t.match(invalid.stderr, /The ID token has the audience "https:\/\/someone-else\.example"; this broker accepts only "[^"]+"/, 'explain says which audience it has and which it needs')

  const human = await cli(['explain', ...local, ...verify, '--token', await env.mint({ ref: 'feature' }), '--role', 'deploy'])
  t.match(human.stdout, /1\. .*acme\/payments\/api .*← decides\n(.*\n)*\s+✗ ref\s+expected "main", actual "feature"/, 'the human form marks the failed check')
  t.match(human.stdout, /not consulted/, 'and says the broader mapping was not consulted')
  const feature = await env.mint({ ref: 'feature' })
  const explained = JSON.parse((await cli(['explain', ...local, ...verify, '--token', feature, '--role', 'deploy', '--json'])).stdout) as { verdict: { message?: string } }
  const answered = await (await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${feature}` } })).json() as { message: string }
  t.equal(explained.verdict.message, answered.message, 'explain --json gives the very message the broker answers')
  const claimsFile = file('claims.json', JSON.stringify({ ...decodeJwt(await env.mint()) }))
  const asGiven = await cli(['explain', ...local, '--claims', claimsFile, '--role', 'deploy'])
  t.match(asGiven.stdout, /Claims taken as given, not verified/, '--claims says the claims were not verified')
})

test('explain of "no mapping" shows where the role is mapped instead (a near miss)', async t => {
  await env.reset()
  await env.putMapping({ scope: groupScope, role: 'read-only', roleArn: ROLE_ARN, pin: { namespace_id: '72815' } })
  const deeper = await env.mint({ project_path: 'acme/payments/sub/tool', namespace_path: 'acme/payments/sub', namespace_id: '72816' })
  const json = JSON.parse((await cli(['explain', ...local, ...verify, '--token', deeper, '--role', 'read-only', '--json'])).stdout) as { mappedElsewhere?: string[] }
  const human = await cli(['explain', ...local, ...verify, '--token', deeper, '--role', 'read-only'])
  const nowhere = JSON.parse((await cli(['explain', ...local, ...verify, '--token', deeper, '--role', 'admin', '--json'])).stdout) as { mappedElsewhere?: string[] }
  t.plan(3)
  t.deepEqual(json.mappedElsewhere, [groupScope], 'the /* of the parent group is named: it covers only projects directly in acme/payments')
  t.match(human.stdout, /is mapped only at scopes that do not cover this project[^\n]*\n\s+http:\/\/127\.0\.0\.1:\d+\/acme\/payments\/\*/, 'the human form says so')
  t.deepEqual(nowhere.mappedElsewhere, [], 'a role mapped nowhere: an empty list')
})

test('explain with an empty --token (an unset variable) says so, not that it is no JWT', async t => {
  const empty = await cli(['explain', ...local, ...verify, '--token', '', '--role', 'deploy'])
  const stdin = await cli(['explain', ...local, ...verify, '--token', '-', '--role', 'deploy'])
  t.plan(4)
  t.equal(empty.code, 1, 'an empty --token fails')
  t.match(empty.stderr, /--token is empty: is the variable holding the token set\?/, 'naming the likely cause')
  t.equal(stdin.code, 1, 'nothing on stdin for --token - fails')
  t.match(stdin.stderr, /--token -: nothing came on stdin\./, 'saying so')
})

test('mappings list --project: the mappings that cover a project, and per role the one that decides', async t => {
  await env.reset()
  const issuer = env.issuer.url
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  await env.putMapping({ scope: groupScope, role: 'deploy', roleArn: ROLE_ARN, pin: { namespace_id: '72815' } })
  await env.putMapping({ scope: `${issuer}/acme/**`, role: 'read', roleArn: ROLE_ARN, pin: 'none', enabled: false })
  await env.putMapping({ scope: `${issuer}/**`, role: 'read', roleArn: ROLE_ARN, pin: 'none' })
  await env.putMapping({ scope: `${issuer}/acme/web/*`, role: 'deploy', roleArn: ROLE_ARN, pin: { namespace_id: '1' } })
  const json = await cli(['mappings', 'list', ...local, '--project', scope, '--json'])
  const human = await cli(['mappings', 'list', ...local, '--project', 'acme/payments/api', '--issuer', issuer])
  const oneRole = await cli(['mappings', 'list', ...local, '--project', scope, '--role', 'admin'])
  const group = await cli(['mappings', 'list', ...local, '--project', 'acme/payments/*'])
  const narrowed = await cli(['mappings', 'list', ...local, '--project', scope, '--scope', groupScope, '--json'])
  const elsewhere = await cli(['mappings', 'list', ...local, '--project', 'https://gitlab.example.com/acme/payments/api'])
  // No --local and no BROKER_ISSUERS: the issuers are unknown (the table read then fails fast, on a closed port).
  const unknownIssuers = await cli(['mappings', 'list', '--region', 'us-east-1', '--env', 'staging', '--project', 'https://gitlab.example.com:443/acme/api'],
    { BROKER_ISSUERS: '', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' })
  const notUrl = await cli(['mappings', 'list', ...local, '--project', 'https://'])
  t.plan(13)
  t.match(elsewhere.stderr, /is on none of the issuers the broker trusts .*: no mapping can grant it anything/, 'a project on an untrusted GitLab is refused, not listed')
  t.match(unknownIssuers.stderr, /taking https:\/\/gitlab\.example\.com as the project's GitLab \(pass --issuer/, 'with no issuer known, the origin is taken, and said so')
  t.notOk(/443\/acme/.test(unknownIssuers.stderr), 'a default port is not taken for a path segment')
  t.equal(notUrl.code, 1, 'a URL that does not parse is refused')
  t.match(notUrl.stderr, /is neither a project URL nor a GitLab project path/, 'saying so, with no TypeError')
  t.deepEqual((JSON.parse(narrowed.stdout) as Array<{ scope: string; decides: boolean }>).map(e => [e.scope, e.decides]), [[groupScope, false]],
    '--scope narrows what is shown, not who decides')
  t.deepEqual((JSON.parse(json.stdout) as Array<{ role: string; scope: string; decides: boolean }>).map(e => [e.role, e.scope, e.decides]), [
    ['deploy', scope, true], ['deploy', groupScope, false], ['read', `${issuer}/acme/**`, true], ['read', `${issuer}/**`, false],
  ], 'by role, most specific first; another group\'s /* is left out')
  t.match(human.stdout, new RegExp(`deploy\\s+${groupScope.replace(/[.*/]/g, '\\$&')}.*shadowed by ${scope.replace(/[.*/]/g, '\\$&')}`), 'the human form says what shadows what')
  t.match(human.stdout, /decides: disabled, grants nothing/, 'and that a disabled mapping still decides (no fallback to /**)')
  t.match(human.stderr, /the most specific one decides alone/, 'with the rule on stderr')
  t.match(oneRole.stderr, /No mapping for the role "admin" covers .*Its candidate scopes \(exact, case included\): .*\/acme\/payments\/api, .*\/acme\/payments\/\*, /, 'none: the scopes that could hold one')
  t.equal(group.code, 1, 'a glob as --project is refused')
  t.match(group.stderr, /names one project; for the mappings of a group scope, use --scope/, 'pointing at --scope')
})

test('audit list shows what the broker issued and denied', async t => {
  await env.reset()
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  const issued = await Promise.all([1, 2].map(async () => {
    const res = await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${await env.mint()}` } })
    return (await res.json() as { IssuanceId: string }).IssuanceId
  }))
  const deniedAnswer = await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${await env.mint({ ref: 'feature' })}` } })
  const deniedRequest = (await deniedAnswer.json() as { requestId: string }).requestId
  const byUrl = await cli(['audit', 'list', ...local, '--project', scope, '--json'])
  const byRequest = await cli(['audit', 'list', ...local, '--id', deniedRequest, '--json'])
  const byIssuance = await cli(['audit', 'list', ...local, '--project', scope, '--id', issued[0], '--json'])
  const otherGitLab = await cli(['audit', 'list', ...local, '--issuer', 'https://gitlab.example.com', '--json'])
  const group = await cli(['audit', 'list', ...local, '--project', 'acme/payments/*'])
  const byPath = await cli(['audit', 'list', ...local, '--project', 'acme/payments/api', '--issuer', env.issuer.url, '--outcome', 'denied', '--since', '1h', '--json'])
  const scan = await cli(['audit', 'list', ...local, '--limit', '2', '--json'])
  const table = await cli(['audit', 'list', ...local, '--project', scope])
  const noIssuer = await cli(['audit', 'list', ...local, '--project', 'acme/payments/api'], { BROKER_ISSUERS: 'https://a.example,https://b.example' })
  const records = JSON.parse(byUrl.stdout) as Array<{ issuanceId?: string; outcome: string; at: string }>
  t.plan(14)
  t.deepEqual((JSON.parse(byRequest.stdout) as Array<{ requestId: string; outcome: string }>).map(r => [r.requestId, r.outcome]), [[deniedRequest, 'denied']],
    '--id finds a denial by the request id its message showed')
  t.deepEqual((JSON.parse(byIssuance.stdout) as Array<{ issuanceId?: string }>).map(r => r.issuanceId), [issued[0]], 'and an issuance by its IssuanceId')
  t.deepEqual(JSON.parse(otherGitLab.stdout), [], 'without --project, --issuer keeps only that GitLab\'s records')
  t.equal(group.code, 1, 'a group pattern as --project is refused')
  t.match(group.stderr, /--project names one project\. For a group/, 'saying how to list a group')
  t.deepEqual(records.filter(r => r.issuanceId).map(r => r.issuanceId).sort(), [...issued].sort(), 'both issuances are listed')
  t.equal(records.filter(r => r.outcome === 'denied').length, 1, 'and the denial')
  t.ok(records.every((r, i) => i === 0 || records[i - 1].at >= r.at), 'newest first')
  t.deepEqual((JSON.parse(byPath.stdout) as Array<{ outcome: string }>).map(r => r.outcome), ['denied'], 'a path with --issuer, filtered by outcome and time')
  t.equal((JSON.parse(scan.stdout) as unknown[]).length, 2, 'without --project a scan, cut to --limit')
  t.match(scan.stderr, /scanning the whole audit table/, 'which says it is a scan')
  t.match(table.stdout, /AT\s+OUTCOME\s+PROJECT/, 'the human form is a table')
  t.equal(noIssuer.code, 1, 'a path with several possible issuers is refused')
  t.match(noIssuer.stderr, /--issuer/, 'asking for --issuer')
})

test('claims with terminal control characters reach the screen escaped: audit list, explain, and their --json', async t => {
  await env.reset()
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  // A C1 CSI (U+009B) is a valid byte in a git ref; ESC sequences (recolour, retitle the window) are there for good measure.
  const ref = 'y\u009b2J\u001b]0;pwned\u0007\u001b[8mhidden\r'
  const token = await env.mint({ ref })
  await fetch(`${env.url}/credentials?role=deploy`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  const runs = await Promise.all([
    cli(['audit', 'list', ...local, '--project', scope]),
    cli(['audit', 'list', ...local, '--project', scope, '--json']),
    cli(['explain', ...local, ...verify, '--token', token, '--role', 'deploy']),
    cli(['explain', ...local, ...verify, '--token', token, '--role', 'deploy', '--json']),
  ])
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/
  t.plan(runs.length * 2 + 2)
  for (const [i, run] of runs.entries()) {
    t.notOk(control.test(run.stdout), `run ${i + 1}: no control character on stdout`)
    t.notOk(control.test(run.stderr), `run ${i + 1}: nor on stderr`)
  }
  t.match(runs[0].stdout, /y\\u009b2J\\u001b\]0;pwned\\u0007\\u001b\[8mhidden\\u000d/, 'the table shows each as its \\u escape')
  t.equal((JSON.parse(runs[1].stdout) as Array<{ ref: string }>)[0].ref, ref, 'and --json still parses to the record as stored')
})

test('token mint asks the local issuer and prints only the token', async t => {
  await env.reset()
  await env.putMapping({ scope, role: 'deploy', roleArn: ROLE_ARN, pin: { project_id: '4301877' }, conditions: { ref: 'main' } })
  const minted = await cli(['token', 'mint', '--issuer-url', env.issuer.url, '--audience', AUDIENCE, '--set', 'ref=main', '--expires-in', '600'])
  const token = minted.stdout.trim()
  const claims = decodeJwt(token)
  const refused = await cli(['token', 'mint', '--issuer-url', 'https://gitlab.example.com'])
  const other = await cli(['token', 'mint', '--issuer-url', env.issuer.url, '--set', 'project_path=acme/ledger/api'])
  const otherWithId = await cli(['token', 'mint', '--issuer-url', env.issuer.url, '--set', 'project_path=acme/ledger/api', '--set', 'project_id=42'])
  t.plan(10)
  t.equal(minted.code, 0, 'mint succeeds')
  t.equal(minted.stdout.split('\n').filter(Boolean).length, 1, 'stdout is one line')
  t.equal(claims.iss, env.issuer.url, 'issued by the local issuer')
  t.equal(claims.exp! - claims.iat!, 600, 'with the lifetime asked for')
  t.equal((await post(env.url, token, 'role=deploy')).status, 200, 'the broker accepts it')
  t.equal(refused.code, 1, 'a non-loopback issuer is refused')
  t.match(refused.stderr, /loopback/, 'saying why')
  t.match(other.stderr, /warning: project_path is not the demo project's, but project_id still is \(4301877\).*--set project_id=ID/,
    'another project_path without its project_id: a warning that a pin would refuse the token')
  t.equal(other.code, 0, 'the token is still minted, as asked')
  t.notOk(otherWithId.stderr.includes('project_id still is'), 'no warning once project_id is given')
})

test('Teardown', async t => {
  await env.stop()
  rmSync(dir, { recursive: true, force: true })
  t.plan(1)
  t.pass('sandbox, local issuer and local STS stopped')
})
