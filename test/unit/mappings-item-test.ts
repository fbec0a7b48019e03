// Spec for src/broker/mappings.ts's parseItem: a stored item is parsed exactly as a mapping file would be, whatever
// DynamoDB holds; what it cannot parse is invalid (and so denies), never read leniently.
import { marshall } from '@aws-sdk/util-dynamodb'
import test from 'tape'
import { MappingInvalid } from '../../src/broker/errors'
import { parseItem } from '../../src/broker/mappings'

const base = {
  scope: 'https://gitlab.com/acme/payments/api', role: 'deploy', roleArn: 'arn:aws:iam::111122223333:role/payments-deploy',
  pin: { project_id: '4301877' }, conditions: { ref: ['main'] },
}

test('parseItem: a valid item parses, and an unchanged item reuses its parse', t => {
  const item = marshall(base)
  const first = parseItem(item)
  t.notOk(first instanceof MappingInvalid, 'valid')
  t.equal(parseItem(marshall(base)), first, 'the same content: the same parsed mapping (cached)')
  t.end()
})

test('parseItem: an attribute named __proto__ is an unknown field, at any depth', t => {
  // What unmarshall would make the prototype: a disabled mapping, or pin: none, slipped in without a field name.
  const top = marshall(base)
  Object.defineProperty(top, '__proto__', { value: { M: { enabled: { BOOL: false } } }, enumerable: true })
  const nested = marshall(base)
  nested.pin = { M: { project_id: { S: '4301877' } } }
  Object.defineProperty(nested.pin.M as object, '__proto__', { value: { S: 'x' }, enumerable: true })
  for (const [name, item] of [['top level', top], ['inside pin', nested]] as const) {
    const result = parseItem(item)
    t.ok(result instanceof MappingInvalid && /unknown field "__proto__"/.test(result.message), `${name}: invalid, naming the field`)
  }
  // As the SDK hands it over: a top-level __proto__ attribute becomes an own key with no value, which JSON leaves out.
  const wire = marshall(base)
  Object.defineProperty(wire, '__proto__', { value: undefined, enumerable: true })
  const fromSdk = parseItem(wire)
  t.ok(fromSdk instanceof MappingInvalid && /unknown field "__proto__"/.test(fromSdk.message), 'as the SDK returns it: invalid too, not a crash')
  const description = parseItem(marshall({ ...base, description: '"__proto__":' }))
  t.notOk(description instanceof MappingInvalid, 'the text "__proto__": inside a value is just text')
  t.end()
})

test('parseItem: an item that cannot be read at all is an invalid mapping (it denies), not an error', t => {
  const unreadable = { ...marshall(base), enabled: {} as never }
  const result = parseItem(unreadable)
  t.ok(result instanceof MappingInvalid && /^enabled: is not a DynamoDB attribute value/.test(result.message), 'invalid, saying which attribute and why')
  t.end()
})
