import { readFileSync } from 'node:fs'
import test from 'tape'
import { MAPPING_FIELDS } from '../../src/broker/policy'
import { SCHEMA_FILE, schemaText } from '../../scripts/schema'

test('schema: the committed JSON Schema is the one the parser\'s constants build', t => {
  t.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaText(), 'schema/mappings.schema.json is up to date (npm run schema)')
  t.end()
})

test('schema: it lists exactly the fields parseMapping accepts', t => {
  const schema = JSON.parse(schemaText())
  t.deepEqual(Object.keys(schema.properties.mappings.items.properties), [...MAPPING_FIELDS], 'same fields, same order')
  t.equal(schema.properties.mappings.items.additionalProperties, false, 'unknown fields are errors, as in the parser')
  t.end()
})
