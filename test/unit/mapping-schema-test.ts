import { readFileSync } from 'node:fs'
import test from 'tape'
import { MANAGED_FIELDS, MAPPING_FIELDS } from '../../src/broker/mapping-fields'
import { SCHEMA_FILE, schemaText } from '../../scripts/schema'

test('schema: the committed JSON Schema is the one the parser\'s constants build', t => {
  t.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaText(), 'schema/mappings.schema.json is up to date (npm run schema)')
  t.end()
})

test('schema: it lists exactly the fields a mapping file may hold', t => {
  const schema = JSON.parse(schemaText())
  t.deepEqual(Object.keys(schema.properties.mappings.items.properties), MAPPING_FIELDS.filter(f => !MANAGED_FIELDS.includes(f)),
    'parseMapping\'s fields, same order, less updatedAt and updatedBy (tanuki-sts sets them; validate refuses them in a file)')
  t.equal(schema.properties.mappings.items.additionalProperties, false, 'unknown fields are errors, as in the parser')
  t.end()
})
