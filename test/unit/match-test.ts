// Spec for src/broker/match.ts: the policy vectors (a mapping, claims, the verdict), and the most specific mapping deciding alone.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { MappingInvalid } from '../../src/broker/errors'
import { parseMapping } from '../../src/broker/mapping'
import type { Mapping } from '../../src/broker/mapping'
import { decide, matchMapping } from '../../src/broker/match'
import { candidateScopes } from '../../src/broker/scope'

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
