// The JSON Schema of mapping files, built from the field table (mapping-fields.ts) the parser reads, so editors and the
// broker cannot disagree on names, shapes and limits. Semantic rules (pin per scope kind, patterns that never match)
// stay parseMapping's alone.
import { GITLAB_ID, KNOWN_CLAIMS } from './claims'
import { FIELDS, FILE_FIELDS } from './mapping-fields'
import type { Field } from './mapping-fields'

export const SCHEMA_ID = 'urn:tanuki-sts:mappings-file'

const id = { type: ['string', 'integer'], pattern: GITLAB_ID.source }

/** One field's schema, from its entry in the table. */
function fieldSchema (field: Field): Record<string, unknown> {
  switch (field.type) {
    case 'text':
      return { type: 'string', minLength: 1, maxLength: field.maxLength, ...(field.pattern && { pattern: field.pattern.regex.source }) }
    case 'integer':
      return { type: 'integer', minimum: field.minimum, maximum: field.maximum }
    case 'boolean':
      return { type: 'boolean' }
    case 'pin':
      return {
        oneOf: [
          { const: 'none' },
          { type: 'object', properties: { project_id: id }, required: ['project_id'], additionalProperties: false },
          { type: 'object', properties: { namespace_id: id }, required: ['namespace_id'], additionalProperties: false },
        ],
      }
    case 'conditions': {
      const pattern = { type: ['string', 'boolean', 'integer'], maxLength: field.maxLength,
        description: 'exact, or a glob: * within one path segment, ** across /' }
      return {
        type: 'object',
        propertyNames: { enum: [...KNOWN_CLAIMS] },
        additionalProperties: { oneOf: [pattern, { type: 'array', items: pattern, minItems: 1, maxItems: field.maxPatterns }] },
      }
    }
    case 'policy':
      return { type: ['object', 'string'], maxLength: field.maxLength }
    case 'claims':
      return { type: 'array', items: { enum: [...KNOWN_CLAIMS] }, maxItems: field.maxItems }
  }
}

export function mappingFileSchema (): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'tanuki-sts mapping file',
    type: 'object',
    properties: {
      $schema: { type: 'string' },
      mappings: {
        type: 'array',
        items: {
          type: 'object',
          // What a file may hold: every field, less those tanuki-sts sets itself (a file that has them is refused).
          properties: Object.fromEntries(FILE_FIELDS.map(name => {
            const field: Field = FIELDS[name]
            return [name, { ...fieldSchema(field), ...(field.description && { description: field.description }) }]
          })),
          required: FILE_FIELDS.filter(name => (FIELDS[name] as Field).required),
          additionalProperties: false,
        },
      },
    },
    required: ['mappings'],
    additionalProperties: false,
  }
}
