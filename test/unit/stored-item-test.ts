// Spec for src/broker/stored-item.ts: a table item is read from DynamoDB's own attribute types. S, N, BOOL, M and L are
// plain data; a set, binary, NULL or a number that is not whole is a problem at its attribute, never an empty value.
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import test from 'tape'
import { readItem } from '../../src/broker/stored-item'

const mapping = {
  scope: 'https://gitlab.com/acme/payments/api', role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/payments-deploy',
  pin: { project_id: '4301877' }, conditions: { ref: ['main'], ref_protected: ['true', 'false'] }, maxDuration: 3600, enabled: true,
  sessionTags: ['project_path'], sessionPolicy: '{"Version":"2012-10-17","Statement":[]}',
}
const item = () => marshall(mapping)
const at = (path: string, av: AttributeValue) => {
  const changed = item()
  const [field, ...rest] = path.split('.')
  if (rest.length === 0) changed[field] = av
  else {
    // One level down: a map's key (`pin.project_id`) or a list's index (`conditions.ref` is conditions.M.ref).
    const m = changed[field].M as Record<string, AttributeValue>
    m[rest[0]] = av
  }
  return readItem(changed)
}

test('readItem: what the CLI writes (S, N, BOOL, M, L) reads back as the mapping it was, with no problems', t => {
  const read = readItem(item())
  t.deepEqual(read.problems, [], 'no problems')
  t.deepEqual(read.data, mapping, 'the same plain data')
  t.end()
})

test('readItem: a set, binary or NULL is a problem at its attribute, naming its type', t => {
  const cases: Array<[string, AttributeValue, string]> = [
    ['conditions', { SS: ['main'] }, 'conditions: is a string set (SS)'],
    ['conditions', { B: new Uint8Array([1, 2]) }, 'conditions: is binary (B)'],
    ['conditions', { NULL: true }, 'conditions: is NULL'],
    ['conditions.ref', { SS: ['main', 'develop'] }, 'conditions.ref: is a string set (SS)'],
    ['conditions.ref', { L: [{ NS: ['1'] }] }, 'conditions.ref.0: is a number set (NS)'],
    ['pin', { SS: ['4301877'] }, 'pin: is a string set (SS)'],
    ['pin.project_id', { NULL: true }, 'pin.project_id: is NULL'],
    ['sessionTags', { SS: ['project_path'] }, 'sessionTags: is a string set (SS)'],
    ['sessionPolicy', { BS: [new Uint8Array([1])] }, 'sessionPolicy: is a binary set (BS)'],
    ['enabled', { NULL: true }, 'enabled: is NULL'],
    ['description', { B: new Uint8Array([104, 105]) }, 'description: is binary (B)'],
    ['maxDuration', { N: '3600.5' }, 'maxDuration: is the number 3600.5, not a whole number'],
    ['maxUses', { $unknown: ['VECTOR', [1]] } as unknown as AttributeValue, 'maxUses: is of a type tanuki-sts does not read ($unknown)'],
    ['role', { S: 'deploy', N: '1' } as unknown as AttributeValue, 'role: is not a DynamoDB attribute value'],
  ]
  for (const [path, av, message] of cases) {
    const read = at(path, av)
    const text = read.problems.map(p => `${p.path.join('.')}: ${p.message}`)
    t.equal(text.length, 1, `${path} as ${Object.keys(av).join('+')}: one problem`)
    t.ok(text[0]?.startsWith(`${message}: a mapping is written with text (S), whole numbers (N), true/false (BOOL), maps (M) and lists (L)`), `"${message}"`)
  }
  t.end()
})

test('readItem: the data shows such an attribute as stored, for `mappings get` (never as an empty value)', t => {
  t.deepEqual(at('conditions', { SS: ['main'] }).data.conditions, { SS: ['main'] }, 'a string set, with its strings')
  t.deepEqual(at('conditions', { B: new Uint8Array([104, 105]) }).data.conditions, { B: 'aGk=' }, 'binary, as base64')
  t.deepEqual(at('conditions', { BS: [new Uint8Array([104])] }).data.conditions, { BS: ['aA=='] }, 'a binary set, each as base64')
  t.deepEqual(at('enabled', { NULL: true }).data.enabled, { NULL: true }, 'NULL')
  t.end()
})

test('readItem: an attribute named __proto__ stays a key at any depth, and is a problem', t => {
  const top = item()
  Object.defineProperty(top, '__proto__', { value: { M: { enabled: { BOOL: false } } }, enumerable: true })
  const read = readItem(top)
  t.deepEqual(read.problems.map(p => `${p.path.join('.')}: ${p.message}`), ['__proto__: unknown field "__proto__"'], 'named as an unknown field')
  t.ok(Object.hasOwn(read.data, '__proto__') && Object.getPrototypeOf(read.data) === Object.prototype, 'an own key; the prototype is untouched')
  const nested = item()
  Object.defineProperty(nested.pin.M as object, '__proto__', { value: { S: 'x' }, enumerable: true })
  t.deepEqual(readItem(nested).problems.map(p => p.path.join('.')), ['pin.__proto__'], 'inside a map too')
  t.end()
})
