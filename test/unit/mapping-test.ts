// Spec for src/broker/mapping.ts's parseMapping: every field checked by its type and limits, every problem reported with its path.
import test from 'tape'
import { MappingInvalid } from '../../src/broker/errors'
import { parseMapping } from '../../src/broker/mapping'

const base = { scope: 'https://gitlab.com/acme/payments/api', role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/deploy', pin: { project_id: '4301877' } }

function problemsOf (raw: unknown): string[] {
  try { parseMapping(raw); return [] }
  catch (err) {
    if (err instanceof MappingInvalid) return err.problems.map(p => `${p.path.join('.')}: ${p.message}`)
    throw err
  }
}

test('parseMapping: a minimal mapping parses, enabled by default, frozen', t => {
  const m = parseMapping(base)
  t.equal(m.enabled, true, 'enabled defaults to true')
  t.deepEqual(m.conditions, {}, 'no conditions')
  t.ok(Object.isFrozen(m), 'the result is frozen')
  t.end()
})

test('parseMapping: every problem is reported with its field path', t => {
  const problems = problemsOf({ ...base, roleArn: 'arn:aws:s3:::bucket', maxDuration: 60, conditions: { reff: 'main' }, extra: 1 })
  t.ok(problems.some(p => p.startsWith('roleArn:')), 'a non-role ARN is reported')
  t.ok(problems.some(p => p.startsWith('maxDuration:')), 'a duration under 900 is reported')
  t.ok(problems.some(p => p.startsWith('conditions.reff:') && p.includes('not a GitLab ID-token claim')), 'a typo in a claim name is reported')
  t.ok(problems.some(p => p.startsWith('extra:')), 'an unknown field is reported')
  t.end()
})

test('parseMapping: a number or a boolean written in quotes is text, and the message says so', t => {
  const problems = problemsOf({ ...base, maxDuration: '3600', maxUses: 'ten', enabled: 'false' })
  t.ok(problems.includes('maxDuration: must be a whole number from 900 to 3600 (written without quotes)'), 'a quoted number')
  t.ok(problems.includes('maxUses: must be a whole number from 1 to 1000'), 'other text gets the rule alone')
  t.ok(problems.includes('enabled: must be true or false (written without quotes: "false" is text)'), 'a quoted boolean')
  t.end()
})

test('parseMapping: a misspelt field or claim name comes with the name it most likely meant', t => {
  const problems = problemsOf({ ...base, rolearn: base.roleArn, conditions: { reff: 'main' }, sessionTags: ['projet_path'] })
  t.ok(problems.includes('rolearn: unknown field "rolearn"; did you mean "roleArn"?'), 'a field')
  t.ok(problems.includes('conditions.reff: "reff" is not a GitLab ID-token claim; did you mean "ref"?'), 'a condition\'s claim')
  t.ok(problems.includes('sessionTags.0: "projet_path" is not a GitLab ID-token claim; did you mean "project_path"?'), 'a session tag')
  t.ok(problemsOf({ ...base, ref: 'main' }).includes('ref: unknown field "ref"; "ref" is a claim: a condition on it goes under `conditions:`, indented'),
    'a claim beside the fields (conditions: not indented below)')
  t.end()
})

test('parseMapping: secure defaults for pins', t => {
  const { pin: _pin, ...unpinned } = base
  t.ok(problemsOf(unpinned).some(p => p.startsWith('pin:') && p.includes('required')), 'a mapping without a pin is refused')
  t.deepEqual(problemsOf({ ...unpinned, pin: 'none' }), [], 'pin: none is the explicit opt-out')
  t.ok(problemsOf({ ...base, scope: 'https://gitlab.com/acme/**' }).some(p => p.includes('must be "none" for a /** scope')), 'a /** scope cannot be pinned')
  t.ok(problemsOf({ ...base, pin: { namespace_id: '1' } }).some(p => p.includes('pinned by project_id')), 'a project scope with a namespace pin is refused')
  t.ok(problemsOf({ ...base, scope: 'https://gitlab.com/acme/*' }).some(p => p.includes('pinned by namespace_id')), 'a /* scope with a project pin is refused')
  t.end()
})

test('parseMapping: patterns that can never match are refused', t => {
  t.ok(problemsOf({ ...base, conditions: { ref_protected: 'yes' } }).length > 0, 'ref_protected only takes true/false')
  t.ok(problemsOf({ ...base, conditions: { project_id: 'abc' } }).length > 0, 'an ID claim only takes digits')
  t.ok(problemsOf({ ...base, conditions: { ref: '' } }).length > 0, 'an empty pattern is refused')
  t.ok(problemsOf({ ...base, conditions: { ref: [] } }).length > 0, 'an empty list is refused')
  t.deepEqual(problemsOf({ ...base, conditions: { ref_protected: true, runner_id: 42 } }), [], 'YAML booleans and numbers are read as their strings')
  t.end()
})

test('parseMapping: scopes must be GitLab URLs', t => {
  for (const scope of ['gitlab.com/acme/api', 'https://gitlab.com/acme/api/', 'https://gitlab.com/acme/../api', 'ftp://gitlab.com/a/b',
    'https://gitlab.com/acme/a*b', 'https://gitlab.com/acme/api?x=1', 'https://gitlab.com/*']) {
    t.ok(problemsOf({ ...base, scope, pin: 'none' }).some(p => p.startsWith('scope:')), `${scope} is refused`)
  }
  t.deepEqual(problemsOf({ ...base, scope: 'https://example.com/gitlab/acme/api' }), [], 'a self-managed GitLab on a sub-path is a scope')
  t.end()
})

test('parseMapping: a value that is not plain data is refused at its field, saying what it is (never read as empty)', t => {
  class Custom { ref = 'main' }
  const values: Array<[string, unknown]> = [
    ['a Map (an ordered map, not a plain one)', new Map([['ref', 'main']])],
    ['a Set', new Set(['main'])],
    ['a date', new Date('2001-12-14T00:00:00Z')],
    ['binary data', new Uint8Array([1, 2])],
    ['a Custom object', new Custom()],
    ['an object with a prototype of its own', Object.create({ ref: 'main' })],
  ]
  const fields: Array<[string, (v: unknown) => Record<string, unknown>, string]> = [
    ['conditions', v => ({ ...base, conditions: v }), 'conditions: must be a map of claim name to a pattern or a list of patterns'],
    ['conditions.ref', v => ({ ...base, conditions: { ref: v } }), 'conditions.ref: a pattern must be a string of at most 1024 characters'],
    ['pin', v => ({ ...base, pin: v }), 'pin: must be { project_id: "N" }, { namespace_id: "N" } or "none"'],
    ['pin.project_id', v => ({ ...base, pin: { project_id: v } }), 'pin: project_id must be a decimal GitLab ID'],
    ['sessionTags', v => ({ ...base, sessionTags: v }), 'sessionTags: must be a list of at most 40 claim names'],
    ['sessionPolicy', v => ({ ...base, sessionPolicy: v }), 'sessionPolicy: must be an IAM policy document (a JSON object)'],
    ['scope', v => ({ ...base, scope: v }), 'scope: must be a string of 1 to 2048 characters'],
    ['maxDuration', v => ({ ...base, maxDuration: v }), 'maxDuration: must be a whole number from 900 to 3600'],
    ['enabled', v => ({ ...base, enabled: v }), 'enabled: must be true or false'],
  ]
  for (const [field, place, rule] of fields) {
    for (const [what, value] of values) {
      t.deepEqual(problemsOf(place(value)), [`${rule} (it is ${what})`], `${what} as ${field}`)
    }
  }
  t.deepEqual(problemsOf(new Map(Object.entries(base))), [': a mapping must be an object (it is a Map (an ordered map, not a plain one))'], 'a Map as the whole mapping')
  t.end()
})

test('parseMapping: plain objects with no prototype are plain data', t => {
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { ...base, conditions: Object.assign(Object.create(null) as object, { ref: 'main' }) })
  t.deepEqual(parseMapping(bare).conditions, { ref: ['main'] }, 'parsed as the same mapping written with {}')
  t.end()
})

test('parseMapping: a session policy holds JSON values only, at every depth', t => {
  const policy = (condition: unknown) => ({ ...base, sessionPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: condition }] } })
  const at = 'sessionPolicy.Statement.0.Condition'
  const tail = 'a policy document holds only maps, lists, text, numbers, true, false and null'
  t.deepEqual(problemsOf(policy(new Map([['StringEquals', { 'aws:SourceVpc': 'vpc-1' }]]))), [`${at}: is a Map (an ordered map, not a plain one): ${tail}`], 'a Map (once sent as {})')
  t.deepEqual(problemsOf(policy({ DateLessThan: { 'aws:CurrentTime': new Date(0) } })), [`${at}.DateLessThan.aws:CurrentTime: is a date: ${tail}`], 'a date (once sent as text)')
  t.deepEqual(problemsOf(policy({ NumericLessThan: { 's3:max-keys': Infinity } })), [`${at}.NumericLessThan.s3:max-keys: is the number Infinity: ${tail}`], 'Infinity (once sent as null)')
  t.deepEqual(problemsOf(policy(undefined)), [`${at}: is undefined: ${tail}`], 'undefined (once left out)')
  t.deepEqual(problemsOf({ ...base, sessionPolicy: 'x'.repeat(5000) }), ['sessionPolicy: must be at most 2048 characters (an AWS limit)'], 'text over the limit is refused before it is read')
  t.deepEqual(problemsOf(policy({ StringEquals: { 'aws:SourceVpc': ['vpc-1', null, 1, true] } })), [], 'maps, lists, text, numbers, true, false and null are fine')
  t.end()
})
