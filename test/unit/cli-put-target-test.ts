// Spec for `mappings put` flags (src/cli/put-flags.ts) and table resolution (src/cli/target.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { PutFlagsInvalid } from '../../src/broker/errors'
import { mappingWarnings } from '../../src/broker/mapping-warnings'
import { flagWarning, mappingFromFlags } from '../../src/cli/put-flags'
import { appNameFromArc, openTarget, stackParameters, targetFlags, toLogicalId } from '../../src/cli/target'

const ROOT = join(__dirname, '..', '..')
const flags = { scope: 'https://gitlab.com/acme/payments/api', role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/deploy', pin: 'project_id=4301877' }
const problems = (f: Record<string, unknown>) => {
  try { mappingFromFlags(f); return [] }
  catch (e) { return e instanceof PutFlagsInvalid ? e.problems : ['not PutFlagsInvalid'] }
}

test('Set up env', t => {
  t.plan(1)
  t.ok(mappingFromFlags(flags), 'the base flags make a valid mapping')
})

test('flags become the mapping parseMapping makes', t => {
  const m = mappingFromFlags({ ...flags, condition: ['ref=main', 'environment=production', 'environment=staging'], maxDuration: '1800', maxUses: '3', sessionTag: ['project_path'], disabled: true },
    () => '{"Version":"2012-10-17","Statement":[]}')
  t.plan(6)
  t.deepEqual(m.pin, { project_id: '4301877' }, 'the pin')
  t.deepEqual(m.conditions, { ref: ['main'], environment: ['production', 'staging'] }, 'the same claim twice is a list')
  t.equal(m.maxDuration, 1800, 'numbers are numbers')
  t.equal(m.maxUses, 3, 'maxUses too')
  t.equal(m.enabled, false, '--disabled stores it disabled')
  t.equal(mappingFromFlags({ ...flags, scope: 'https://gitlab.com/acme/**', pin: 'none' }).pin, 'none', 'pin none')
})

test('problems are named by flag', t => {
  t.plan(5)
  t.deepEqual(problems({ ...flags, condition: ['reff=main'] }), ['--condition reff: "reff" is not a GitLab ID-token claim; did you mean "ref"?'], 'an unknown claim')
  t.deepEqual(problems({ ...flags, maxDuration: '2h' }), ['--max-duration: must be a whole number from 900 to 3600'], 'a duration that is not a number')
  t.deepEqual(problems({ ...flags, pin: undefined }), ['--pin: is required: project_id=N for a project scope, namespace_id=N for a /* scope, or none (a /** scope must say none)'], 'a missing pin')
  t.deepEqual(problems({ ...flags, pin: '4301877' }), ['--pin: must be project_id=N, namespace_id=N or none'], 'a pin without its name')
  t.deepEqual(problems({ ...flags, condition: ['main'] }), ['--condition main: write it as claim=pattern (e.g. ref=main; repeat the claim for a list)'], 'a condition without =')
})

test('warnings are named by flag, and the conditions they suggest are written as flags', t => {
  const warnings = (f: Record<string, unknown>) => mappingWarnings(mappingFromFlags(f)).map(flagWarning)
  t.plan(2)
  t.deepEqual(warnings({ ...flags, condition: ['ref=main'] }),
    ['--condition ref: matches a branch or a tag of that name; add `--condition ref_type=branch` (or `tag`), or match `--condition ref_path=refs/heads/...`, to say which'],
    'a ref without ref_type')
  t.deepEqual(warnings({ ...flags, pin: 'none' }),
    ['--pin: "none" where a pin is possible: a project deleted and created again at this path would get the role too; pin its project_id unless that is what you want'],
    'pin none on a project scope: --pin, not "--condition "')
})

test('targetFlags: the flags that name the same tables again, for a command a message suggests', t => {
  t.plan(3)
  t.equal(targetFlags({ local: true }), '--local', 'the sandbox')
  t.equal(targetFlags({ region: 'us-east-1', env: 'production' }), '--region us-east-1 --env production', 'a deployed stack')
  t.equal(targetFlags({ region: 'eu-west-1', env: 'staging', app: 'sts' }), '--region eu-west-1 --env staging --app sts', 'with its app')
})

test('deployed tables are found where Architect publishes them', t => {
  t.plan(4)
  t.equal(toLogicalId('tanuki-sts-staging'), 'TanukiStsStaging', 'the stack name of staging')
  t.deepEqual(stackParameters('tanuki-sts', 'production'), {
    stack: 'TanukiStsProduction', mappings: '/TanukiStsProduction/tables/mappings', audit: '/TanukiStsProduction/tables/audit', issuerKeys: '/TanukiStsProduction/tables/issuer-keys',
  }, 'the SSM parameters')
  t.equal(appNameFromArc(ROOT), 'tanuki-sts', 'the app name comes from app.arc')
  t.equal(appNameFromArc('/nonexistent'), undefined, 'no app.arc, no name')
})

test('--local finds the running npm start through .tanuki/local.json; ARC_TABLES_PORT overrides it', async t => {
  const cwd = mkdtempSync(join(tmpdir(), 'tanuki-local-info-'))
  const label = async (env: NodeJS.ProcessEnv) => {
    const target = await openTarget({ local: true }, env, cwd)
    target.close()
    return target.label
  }
  t.plan(3)
  t.equal(await label({}), 'the local sandbox (localhost:5555)', 'nothing recorded: sandbox\'s default port')
  mkdirSync(join(cwd, '.tanuki'))
  writeFileSync(join(cwd, '.tanuki', 'local.json'), JSON.stringify({ tablesPort: 5556 }))
  t.equal(await label({}), 'the local sandbox (localhost:5556)', 'the port npm start recorded')
  t.equal(await label({ ARC_TABLES_PORT: '5600' }), 'the local sandbox (localhost:5600)', 'the environment wins')
  rmSync(cwd, { recursive: true, force: true })
})

test('Teardown', t => {
  t.plan(1)
  t.pass('nothing to tear down')
})
