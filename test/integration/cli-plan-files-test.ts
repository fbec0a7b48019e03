// `tanuki-sts mappings plan --from OLD NEW` as users run it (`node bin/tanuki-sts.js`, a real subprocess), offline: an
// environment with no AWS variables and no tables, as a merge request's review job has. What the plan says, and when it fails.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { ROOT } from '../../src/local/stack'

interface Run { code: number; stdout: string; stderr: string }

let dir: string

/** The CLI with nothing but a PATH and an empty HOME: no AWS_* at all, so any AWS call it tried would fail. */
function cli (args: string[]): Promise<Run> {
  return new Promise(resolve => {
    execFile(process.execPath, [join(ROOT, 'bin', 'tanuki-sts.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1', AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
        AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }))
  })
}

/** Writes a file under the test directory (creating its folder) and returns its path. */
function file (name: string, text: string): string {
  const path = join(dir, name)
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, text)
  return path
}

// Role ARNs under app.arc's target-roles (arn:aws:iam::111122223333:role/gitlab-*), so the plan warns of nothing.
const api = (extra = '') => `  - scope: https://gitlab.com/acme/payments/api
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/gitlab-payments-deploy
    pin: { project_id: "4301877" }
    conditions:
      ref: main
${extra}`
const readOnly = `  - scope: https://gitlab.com/acme/payments/*
    role: read-only
    roleArn: arn:aws:iam::111122223333:role/gitlab-readonly
    pin: { namespace_id: "72815" }
`
const tools = `  - scope: https://gitlab.com/acme/tools/**
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/gitlab-tools
    pin: none
`

test('Set up env', t => {
  dir = mkdtempSync(join(tmpdir(), 'tanuki-plan-files-'))
  // The target branch's mappings/ (before) and the merge request's (after): one changed, one added, one dropped.
  file('before/payments.yaml', `mappings:\n${api()}${readOnly}`)
  file('before/tools.yaml', `mappings:\n${tools}`)
  file('after/payments.yaml', `# yaml-language-server: $schema=../schema/mappings.schema.json\nmappings:\n${api('    maxDuration: 1800\n')}${readOnly}`)
  file('after/new.yaml', `mappings:\n${tools.replace('acme/tools/**', 'acme/web/**').replace('gitlab-tools', 'gitlab-web')}`)
  t.plan(1)
  t.pass(`files in ${dir}`)
})

test('plan --from DIR DIR: what merging would create, update and keep, field by field, with no AWS at all', async t => {
  const r = await cli(['mappings', 'plan', '--from', join(dir, 'before'), join(dir, 'after')])
  t.plan(7)
  t.equal(r.code, 0, 'exit 0: the files are valid')
  t.ok(r.stdout.includes('+ create  https://gitlab.com/acme/web/**  deploy\n    + roleArn: "arn:aws:iam::111122223333:role/gitlab-web"'),
    'the new mapping, with its fields')
  t.ok(r.stdout.includes('~ update  https://gitlab.com/acme/payments/api  deploy\n    + maxDuration: 1800'), 'the changed one, field by field')
  t.notOk(r.stdout.includes('read-only'), 'the unchanged one is only counted')
  t.ok(r.stdout.includes('Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged.'), 'the summary')
  t.match(r.stdout,
    /1 mapping\(s\) in --from but no longer in the files: `mappings apply` without --prune keeps them in the table, still granting[^\n]*\n {2}= kept {4}https:\/\/gitlab\.com\/acme\/tools\/\*\* {2}deploy/,
    'the dropped one: kept in the table by the pipeline\'s apply (no --prune), and said so')
  t.ok(r.stderr.includes(`Plan: ${join(dir, 'after', 'new.yaml')}, ${join(dir, 'after', 'payments.yaml')} against ${join(dir, 'before', 'payments.yaml')}, ` +
    `${join(dir, 'before', 'tools.yaml')}`),
  'it names the files it compared: a directory\'s *.yaml, in name order')
})

test('plan --prune: a mapping only in --from is a delete, as apply --prune would make it', async t => {
  const r = await cli(['mappings', 'plan', '--prune', '--from', join(dir, 'before'), join(dir, 'after')])
  t.plan(3)
  t.equal(r.code, 0, 'exit 0')
  t.ok(r.stdout.includes('- delete  https://gitlab.com/acme/tools/**  deploy  (arn:aws:iam::111122223333:role/gitlab-tools)'),
    'the delete names the role it stops granting')
  t.ok(r.stdout.includes('Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged.'), 'and is counted')
})

test('plan --json: every step and the files compared, for a bot to read', async t => {
  const r = await cli(['mappings', 'plan', '--json', '--from', join(dir, 'before', 'payments.yaml'), join(dir, 'after', 'payments.yaml')])
  const body = JSON.parse(r.stdout) as {
    steps: Array<{ action: string; role: string; changes?: unknown[] }>; summary: Record<string, number>; files: string[]; from: string[]
  }
  t.plan(4)
  t.equal(r.code, 0, 'exit 0')
  t.deepEqual(body.steps.map(s => `${s.action} ${s.role}`), ['unchanged read-only', 'update deploy'], 'the steps, in scope order')
  t.deepEqual(body.steps[1].changes, [{ field: 'maxDuration', new: 1800 }], 'with the changes of each')
  t.deepEqual([body.files, body.from], [[join(dir, 'after', 'payments.yaml')], [join(dir, 'before', 'payments.yaml')]], 'and the files on each side')
})

test('an invalid file fails the plan with each problem at its line and column', async t => {
  const bad = file('invalid/payments.yaml', `mappings:\n${api().replace('ref: main', 'reff: main')}`)
  const r = await cli(['mappings', 'plan', '--from', join(dir, 'before'), join(dir, 'invalid')])
  t.plan(3)
  t.equal(r.code, 1, 'exit 1')
  t.ok(r.stderr.includes(`${bad}:7:7: mappings[0].conditions.reff: "reff" is not a GitLab ID-token claim; did you mean "ref"?`), 'the problem, where it is')
  t.notOk(r.stdout.includes('Plan:'), 'and no plan')
})

test('the files\' advice is printed and does not fail the plan: a role app.arc\'s target-roles miss, a scope on no trusted issuer', async t => {
  const risky = file('risky/x.yaml', `mappings:\n${api().replace('gitlab-payments-deploy', 'payments-deploy')}`)
  const r = await cli(['mappings', 'plan', '--issuer', 'https://gitlab.example.com', '--from', join(dir, 'before'), risky])
  t.plan(3)
  t.equal(r.code, 0, 'exit 0: advice, not a problem')
  t.ok(r.stderr.includes(`warning: ${risky}:2:5: mappings[0].roleArn: arn:aws:iam::111122223333:role/payments-deploy matches none of app.arc's @tanuki-sts ` +
    'target-roles'), 'the uncovered role')
  t.ok(r.stderr.includes(`warning: ${risky}:2:5: mappings[0].scope: no issuer this broker trusts (https://gitlab.example.com) begins this scope`),
    'the scope no trusted issuer begins')
})

test('a --from side with problems still gets a plan, which says what it left out', async t => {
  const broken = file('broken/payments.yaml', `mappings:\n${api().replace('    pin: { project_id: "4301877" }\n', '')}`)
  const r = await cli(['mappings', 'plan', '--from', broken, join(dir, 'after', 'payments.yaml')])
  t.plan(3)
  t.equal(r.code, 0, 'exit 0: the files under review are valid')
  t.ok(r.stderr.includes('warning: the --from files have 1 problem(s); the mappings they touch are left out, ' +
    `so the plan may show them as new:\n  ${broken}:2:5: mappings[0].pin: is required`), 'the --from problem, named')
  t.ok(r.stdout.includes('+ create  https://gitlab.com/acme/payments/api  deploy'), 'and the mapping it touches shows as new')
})

test('a .yml file in a directory is named as not read (the pipeline applies *.yaml); an empty directory is no mappings', async t => {
  file('yml/old.yml', `mappings:\n${tools}`)
  const r = await cli(['mappings', 'plan', '--from', join(dir, 'yml'), join(dir, 'after')])
  t.plan(3)
  t.equal(r.code, 0, 'exit 0')
  t.ok(r.stderr.includes(`warning: ${join(dir, 'yml', 'old.yml')}: not read; the pipeline applies *.yaml files only (rename it to .yaml)`),
    'the .yml file is named')
  t.ok(r.stdout.includes('Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.'), 'and the plan starts from nothing')
})

test('bad arguments say what to give', async t => {
  const noFrom = await cli(['mappings', 'plan', join(dir, 'after')])
  const missing = await cli(['mappings', 'plan', '--from', join(dir, 'nowhere'), join(dir, 'after')])
  t.plan(4)
  t.equal(noFrom.code, 1, 'without --from: exit 1')
  t.ok(noFrom.stderr.includes('--from is required: the files (or directory) the plan starts from'), 'and the flag to add')
  t.equal(missing.code, 1, 'a --from that does not exist: exit 1 (never read as "no mappings")')
  t.ok(missing.stderr.includes(`Cannot read ${join(dir, 'nowhere')}: no such file.`), 'and which path')
})

test('Teardown', t => {
  rmSync(dir, { recursive: true, force: true })
  t.plan(1)
  t.pass('removed')
})
