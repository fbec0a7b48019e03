// The JSON Schema of mapping files, built from the parser's own constants so editors and the broker cannot disagree
// on names and shapes. Semantic rules (pin per scope kind, patterns that never match) stay parseMapping's alone.
import { KNOWN_CLAIMS } from './claims'
import { GITLAB_ID, MANAGED_FIELDS, MAPPING_FIELDS, MAX_DURATION, MAX_SESSION_TAGS, MIN_DURATION, ROLE_ARN, ROLE_NAME } from './policy'

export const SCHEMA_ID = 'urn:tanuki-sts:mappings-file'

const pattern = { type: ['string', 'boolean', 'integer'], description: 'exact, or a glob: * within one path segment, ** across /' }
const id = { type: ['string', 'integer'], pattern: GITLAB_ID.source }

export function mappingFileSchema (): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    scope: { type: 'string', description: 'project URL (issuer + path), or a group URL followed by /* (its projects) or /** (any depth)' },
    role: { type: 'string', pattern: ROLE_NAME.source, description: 'the name a job asks for (?role=...)' },
    roleArn: { type: 'string', pattern: ROLE_ARN.source },
    pin: {
      description: 'project_id for a project scope, namespace_id for a /* scope, or "none" (required for /**)',
      oneOf: [
        { const: 'none' },
        { type: 'object', properties: { project_id: id }, required: ['project_id'], additionalProperties: false },
        { type: 'object', properties: { namespace_id: id }, required: ['namespace_id'], additionalProperties: false },
      ],
    },
    conditions: {
      type: 'object',
      description: 'claim name -> pattern or list of patterns (any of); ref_protected defaults to "true"',
      propertyNames: { enum: [...KNOWN_CLAIMS] },
      additionalProperties: { oneOf: [pattern, { type: 'array', items: pattern, minItems: 1, maxItems: 50 }] },
    },
    maxDuration: { type: 'integer', minimum: MIN_DURATION, maximum: MAX_DURATION },
    sessionPolicy: { type: ['object', 'string'], description: 'an IAM policy document that scopes the session down' },
    sessionTags: { type: 'array', items: { enum: [...KNOWN_CLAIMS] }, maxItems: MAX_SESSION_TAGS },
    maxUses: { type: 'integer', minimum: 1, maximum: 1000, description: 'issuances per ID token' },
    maxTokenAge: { type: 'integer', minimum: 1, maximum: 86400, description: 'seconds since the token\'s iat' },
    description: { type: 'string', maxLength: 1024 },
    enabled: { type: 'boolean' },
  }
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
          properties: Object.fromEntries(MAPPING_FIELDS.filter(f => !MANAGED_FIELDS.includes(f)).map(f => [f, properties[f]])),
          required: ['scope', 'role', 'roleArn', 'pin'],
          additionalProperties: false,
        },
      },
    },
    required: ['mappings'],
    additionalProperties: false,
  }
}
