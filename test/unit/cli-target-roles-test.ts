// Spec for src/cli/target-roles.ts: app.arc's target-roles, and IAM's wildcard matching of a mapping's roleArn.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { CliError } from '../../src/broker/errors'
import { readTargetRoles, uncoveredRoleArn } from '../../src/cli/target-roles'

test('readTargetRoles: the @tanuki-sts target-roles row, comments and other pragmas aside', t => {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-arc-'))
  try {
    t.equal(readTargetRoles(dir), undefined, 'no app.arc: none')
    writeFileSync(join(dir, 'app.arc'), '@app\nx\n\n@tanuki-sts\n# target-roles commented out\nthrottle-rate 10\n')
    t.equal(readTargetRoles(dir), undefined, 'a section without the row: none')
    writeFileSync(join(dir, 'app.arc'), '@app\nx\n@tanuki-sts\ntarget-roles arn:aws:iam::1:role/a-*  arn:aws:iam::1:role/b # the b roles\n@aws\nregion us-east-1\n')
    t.deepEqual(readTargetRoles(dir), ['arn:aws:iam::1:role/a-*', 'arn:aws:iam::1:role/b'], 'the patterns, without the comment')
    t.deepEqual(readTargetRoles(join(__dirname, '..', '..')), ['arn:aws:iam::111122223333:role/gitlab-*', 'arn:aws:iam::111122223333:role/tanuki-sts-*'], 'this repository\'s')
    writeFileSync(join(dir, 'app.arc'), '@app\nx\n@tanuki-sts\ntarget-roles "arn:aws:iam::1:role/a-*\n')
    t.throws(() => readTargetRoles(dir), (e: unknown) => e instanceof CliError && /app\.arc: closing quote not found \(line: 4 column: 14\)/.test(e.message),
      'an app.arc Architect cannot parse is an error saying where, never "no target roles"')
  }
  finally { rmSync(dir, { recursive: true, force: true }) }
  t.end()
})

test('uncoveredRoleArn: IAM wildcards, * across / and ? for one character, nothing else special', t => {
  const roles = ['arn:aws:iam::111122223333:role/gitlab-*', 'arn:aws:iam::444455556666:role/ci/deploy-?']
  t.equal(uncoveredRoleArn('arn:aws:iam::111122223333:role/gitlab-payments', roles), undefined, 'a prefix pattern')
  t.equal(uncoveredRoleArn('arn:aws:iam::111122223333:role/gitlab-team/x', roles), undefined, '* crosses a path /')
  t.equal(uncoveredRoleArn('arn:aws:iam::444455556666:role/ci/deploy-1', roles), undefined, '? for one character')
  t.match(String(uncoveredRoleArn('arn:aws:iam::444455556666:role/ci/deploy-12', roles)), /matches none of app\.arc's @tanuki-sts target-roles/, 'not for two')
  t.match(String(uncoveredRoleArn('arn:aws:iam::999999999999:role/gitlab-x', roles)), /matches none/, 'another account')
  t.match(String(uncoveredRoleArn('arn:aws:iam::111122223333:role/GitLab-x', roles)), /matches none/, 'case-sensitive, as IAM compares')
  t.match(String(uncoveredRoleArn('arn:aws:iam::111122223333:role/gitlabXpayments', ['arn:aws:iam::111122223333:role/gitlab.payments'])), /matches none/, 'a dot is a dot')
  t.equal(uncoveredRoleArn('arn:aws:iam::1:role/x', undefined), undefined, 'no target-roles known: no warning')
  t.end()
})
