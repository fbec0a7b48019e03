// Spec for src/cli/trust-policy.ts: the trust policy a target role needs (DESIGN §5) and the ABAC example after it.
import test from 'tape'
import { abacExample, trustPolicy, trustPolicyNotes } from '../../src/cli/trust-policy'

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the plugin is plain JS that Architect require()s
const { stsStatement } = require('../../src/plugins/tanuki-sts') as { stsStatement (roles: string[]): { Action: string[] } }
const BROKER = 'arn:aws:iam::111122223333:role/TanukiStsProduction-Role-1A2B3C'
let notes: string[]

test('Set up env', t => {
  notes = trustPolicyNotes()
  t.plan(1)
  t.ok(notes.length > 0, 'the notes are built')
})

test('the trust policy lets the broker role assume, tag and set the source identity', t => {
  const policy = trustPolicy(BROKER) as { Version: string; Statement: Array<Record<string, unknown>> }
  t.plan(5)
  t.equal(policy.Version, '2012-10-17', 'the current policy language version')
  t.equal(policy.Statement.length, 1, 'one statement')
  t.deepEqual(policy.Statement[0].Principal, { AWS: BROKER }, 'the principal is the broker\'s Lambda role')
  t.deepEqual(policy.Statement[0].Action, ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
    'the three actions AssumeRole with tags and SourceIdentity needs')
  t.deepEqual(policy.Statement[0].Action, stsStatement(['*']).Action, 'the same actions the deploy plugin grants the broker')
})

test('the notes (stderr) say how to save the policy and show the ABAC example', t => {
  const text = notes.join('\n')
  t.plan(3)
  t.match(text, /trust-policy --broker-role-arn ARN > trust\.json/, 'stdout is the policy alone, so it can be redirected to a file')
  t.ok(text.includes('aws:PrincipalTag/gitlab:project_path'), 'the example uses the project path session tag')
  t.ok(JSON.stringify(abacExample()).includes('${aws:PrincipalTag/gitlab:project_path}'), 'as an IAM policy variable')
})

test('only an IAM role ARN is accepted', t => {
  t.plan(3)
  t.throws(() => trustPolicy('arn:aws:sts::111122223333:assumed-role/broker/session'), /session \(assumed-role\) ARN/, 'a session ARN is refused with a hint')
  t.throws(() => trustPolicy('arn:aws:iam::111122223333:user/ada'), /is not an IAM role ARN/, 'a user ARN is refused')
  t.doesNotThrow(() => trustPolicy('arn:aws-us-gov:iam::111122223333:role/path/broker'), 'a role in another partition, with a path, is accepted')
})

test('Teardown', t => {
  t.plan(1)
  t.pass('nothing to tear down')
})
