// Writes schema/mappings.schema.json from the parser's constants (src/broker/mapping-schema.ts). Usage: npm run schema
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { mappingFileSchema } from '../src/broker/mapping-schema'

export const SCHEMA_FILE = join(__dirname, '..', 'schema', 'mappings.schema.json')
export const schemaText = () => JSON.stringify(mappingFileSchema(), null, 2) + '\n'

if (require.main === module) {
  writeFileSync(SCHEMA_FILE, schemaText())
  console.log(`wrote ${SCHEMA_FILE}`)
}
