// Spec for src/cli/plan.ts: create / update (field by field) / delete (only with prune) / unchanged, printed like terraform.
import test from 'tape'
import { MappingInvalid } from '../../src/broker/errors'
import type { StoredEntry } from '../../src/broker/mappings'
import { parseMapping } from '../../src/broker/mapping'
import type { Mapping } from '../../src/broker/mapping'
import { paint } from '../../src/cli/output'
import { computePlan, diffFields, planSummary, renderPlan } from '../../src/cli/plan'

const api = { scope: 'https://gitlab.com/acme/payments/api', role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/deploy', pin: { project_id: '4301877' }, conditions: { ref: 'main' } }
const group = { scope: 'https://gitlab.com/acme/payments/*', role: 'read-only', roleArn: 'arn:aws:iam::111122223333:role/readonly', pin: { namespace_id: '72815' } }
const tools = { scope: 'https://gitlab.com/acme/tools/**', role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/tools', pin: 'none' }
const plain = paint(false)

function stored (raw: Record<string, unknown>): StoredEntry {
  let mapping: Mapping | MappingInvalid
  try { mapping = parseMapping(raw) }
  catch (e) { mapping = e as MappingInvalid }
  return { scope: String(raw.scope), role: String(raw.role), mapping, item: raw }
}
const written = (raw: Record<string, unknown>) => stored({ ...raw, updatedAt: '2026-11-01T10:00:00.000Z', updatedBy: 'ada' })

test('Set up env', t => {
  t.plan(1)
  t.ok(parseMapping(api) && parseMapping(group) && parseMapping(tools), 'the fixtures are valid mappings')
})

test('a mapping not in the table is created', t => {
  const plan = computePlan([parseMapping(api)], [], { prune: false })
  t.plan(3)
  t.deepEqual(plan.steps.map(s => s.action), ['create'], 'one create')
  t.equal(planSummary(plan), 'Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.', 'the summary counts it')
  t.deepEqual(renderPlan(plan, plain).slice(0, 2), [`+ create  ${api.scope}  deploy`, `    + roleArn: "${api.roleArn}"`], 'printed with + lines')
})

test('who wrote it and when is not a change', t => {
  const plan = computePlan([parseMapping(api)], [written(api)], { prune: false })
  t.plan(1)
  t.deepEqual(plan.steps.map(s => s.action), ['unchanged'], 'updatedAt and updatedBy are ignored')
})

test('an edited mapping is an update with a field-by-field diff', t => {
  const next = parseMapping({ ...api, conditions: { ref: 'main', environment: ['production'] }, maxDuration: 1800 })
  const plan = computePlan([next], [written({ ...api, maxDuration: 3600 })], { prune: false })
  const step = plan.steps[0]
  t.plan(3)
  t.equal(step.action, 'update', 'one update')
  t.deepEqual(step.action === 'update' ? step.changes : [], [
    { field: 'conditions.environment', new: ['production'] },
    { field: 'maxDuration', old: 3600, new: 1800 },
  ], 'only the fields that changed')
  t.deepEqual(renderPlan(plan, plain), [
    `~ update  ${api.scope}  deploy`,
    '    + conditions.environment: ["production"]',
    '    - maxDuration: 3600',
    '    + maxDuration: 1800',
    '',
    'Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged.',
  ], 'printed with - old and + new lines')
})

test('a session policy compares by content, not formatting', t => {
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }
  const fromFile = parseMapping({ ...api, sessionPolicy: policy })
  const plan = computePlan([fromFile], [written({ ...api, sessionPolicy: JSON.stringify(policy, null, 2) })], { prune: false })
  t.plan(1)
  t.equal(plan.steps[0].action, 'unchanged', 'a pretty-printed stored policy equals the same policy from YAML')
})

test('stored mappings the files do not mention are deleted only with prune', t => {
  const table = [written(api), written(group), written(tools)]
  const kept = computePlan([parseMapping(api)], table, { prune: false })
  const pruned = computePlan([parseMapping(api)], table, { prune: true })
  t.plan(4)
  t.deepEqual(kept.steps.map(s => s.action), ['unchanged'], 'without prune they are left alone')
  t.equal(kept.kept.length, 2, 'and listed as kept')
  t.deepEqual(pruned.steps.map(s => `${s.action} ${s.scope}`), ['unchanged ' + api.scope, 'delete ' + group.scope, 'delete ' + tools.scope], 'with prune they are deleted')
  t.equal(planSummary(pruned), 'Plan: 0 to create, 0 to update, 2 to delete, 1 unchanged.', 'the summary counts the deletes')
})

test('an invalid stored mapping is always rewritten', t => {
  const broken = stored({ ...api, conditions: { reff: 'main' }, updatedAt: 'x' })
  const plan = computePlan([parseMapping(api)], [broken], { prune: false })
  const step = plan.steps[0]
  t.plan(2)
  t.equal(step.action, 'update', 'it is an update')
  t.deepEqual(step.action === 'update' ? step.changes : [], [{ field: 'conditions.ref', new: ['main'] }, { field: 'conditions.reff', old: 'main' }],
    'the diff is against the item as stored')
})

test('diffFields compares conditions claim by claim', t => {
  t.plan(2)
  t.deepEqual(diffFields({ conditions: { ref: ['main'] } }, { conditions: { ref: ['main'] } }), [], 'equal conditions, no change')
  t.deepEqual(diffFields({ conditions: { ref: ['main'] } }, { conditions: {} }), [{ field: 'conditions.ref', old: ['main'] }], 'a removed condition')
})

test('Teardown', t => {
  t.plan(1)
  t.pass('nothing to tear down: plans are pure')
})
