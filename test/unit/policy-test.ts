import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { MappingInvalid, candidateScopes, decide, matchMapping, parseMapping, parseScope, scopeCovers, scopeProblem } from '../../src/broker/policy'
import type { Mapping } from '../../src/broker/policy'

const fixture: Record<string, unknown> = JSON.parse(readFileSync(join(__dirname, '../fixtures/gitlab-id-token-claims.json'), 'utf8'))
const now = new Date((1648637774 + 60) * 1000)
const vectorsDir = join(__dirname, '../vectors/policy')

interface Vector { name: string; mapping: Record<string, unknown>; claims: Record<string, unknown>; want: 'allow' | Record<string, unknown> }

for (const file of readdirSync(vectorsDir).filter(f => f.endsWith('.json'))) {
  const vectors: Vector[] = JSON.parse(readFileSync(join(vectorsDir, file), 'utf8'))
  for (const v of vectors) {
    test(`policy vector (${file}): ${v.name}`, t => {
      const claims: Record<string, unknown> = { ...fixture, ...v.claims }
      for (const [k, value] of Object.entries(v.claims)) if (value === null) delete claims[k]
      const verdict = matchMapping(parseMapping(v.mapping), claims, now)
      if (v.want === 'allow') t.deepEqual(verdict, { allow: true }, 'the mapping allows')
      else {
        t.equal(verdict.allow, false, 'the mapping denies')
        if (!verdict.allow) {
          for (const [k, value] of Object.entries(v.want)) t.deepEqual(verdict.denial[k as keyof typeof verdict.denial], value, `the denial names ${k}`)
        }
      }
      t.end()
    })
  }
}

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

test('candidateScopes: most specific first, up to the instance root', t => {
  t.deepEqual(candidateScopes('https://gitlab.com', 'acme/payments/api'), [
    'https://gitlab.com/acme/payments/api',
    'https://gitlab.com/acme/payments/*',
    'https://gitlab.com/acme/payments/**',
    'https://gitlab.com/acme/**',
    'https://gitlab.com/**',
  ], 'project, its group /*, then /** upwards')
  t.ok(scopeCovers('https://gitlab.com/acme/**', 'https://gitlab.com', 'acme/payments/api'), 'a /** covers its descendants')
  t.notOk(scopeCovers('https://gitlab.com/acme/**', 'https://gitlab.com', 'acmecorp/api'), 'a /** does not cover a sibling sharing a prefix')
  t.end()
})

test('decide: the most specific mapping decides alone, with no fallback', t => {
  const claims = { ...fixture, ref: 'feature' }
  const scopes = candidateScopes('https://gitlab.com', 'acme/payments/api')
  const project = parseMapping({ ...base, conditions: { ref: 'main' } })
  const group = parseMapping({ ...base, scope: 'https://gitlab.com/acme/**', pin: 'none', conditions: { ref: '**' } })
  const found = new Map<string, Mapping | MappingInvalid>([[group.scope, group], [project.scope, project]])
  const denied = decide(scopes, found, claims, now)
  t.equal(denied.allow, false, 'the project mapping denies, and the broader allowing one is not consulted')
  t.equal(denied.mapping?.scope, project.scope, 'the project mapping is the one that decided')
  found.delete(project.scope)
  t.equal(decide(scopes, found, claims, now).allow, true, 'without the project mapping, the group mapping decides')
  const broken = new MappingInvalid([{ path: ['roleArn'], message: 'bad' }])
  found.set(project.scope, broken)
  const invalid = decide(scopes, found, claims, now)
  t.equal(invalid.allow, false, 'a broken most-specific mapping denies')
  t.equal(invalid.allow === false && invalid.invalid, broken, 'and says it was invalid')
  t.equal(decide(scopes, new Map(), claims, now).allow, false, 'no mapping denies')
  t.end()
})

test('policy: a scope that does not parse says what to change', t => {
  const cases: Array<[string, RegExp]> = [
    ['https://gitlab.com/acme/api/', /^ends with "\/": write it without/],
    ['https://GitLab.com/acme/api', /^is spelled differently .*: write https:\/\/gitlab\.com\/acme\/api \(lower-case host, no default port\)/],
    ['https://gitlab.com:443/acme/api', /write https:\/\/gitlab\.com\/acme\/api/],
    ['https://gitlab.com/acme/api?ref=main', /^has a query or fragment/],
    ['https://gitlab.com//acme/api', /^has an empty path segment/],
    [' https://gitlab.com/acme/api', /^has spaces around it/],
    ['https://gitlab.com/acme/a pi', /^has a path GitLab would not have/],
    ['acme/api', /^must be a GitLab project URL/],
  ]
  for (const [scope, message] of cases) {
    t.equal(parseScope(scope), undefined, `${JSON.stringify(scope)} does not parse`)
    t.match(scopeProblem(scope) ?? 'parses', message, `and says ${message.source.slice(1, 40)}…`)
  }
  t.end()
})
