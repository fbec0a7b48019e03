// The fields of a mapping (DESIGN §4), in the order DESIGN lists them: each one's type and limits, once. The parser
// (mapping.ts), the JSON Schema (mapping-schema.ts) and the CLI's plan (cli/plan.ts) are all read from this table.
import { MAX_DURATION, MAX_SESSION_TAGS, MIN_DURATION, ROLE_ARN, ROLE_NAME } from './role'

/** A field's type, as the parser checks it. */
export type FieldSpec =
  /** A string of 1 to maxLength characters, matching `pattern` when there is one. */
  | { readonly type: 'text'; readonly maxLength: number; readonly pattern?: { readonly regex: RegExp; readonly message: string } }
  | { readonly type: 'integer'; readonly minimum: number; readonly maximum: number }
  | { readonly type: 'boolean' }
  /** `none`, or a map of one GitLab ID: project_id or namespace_id. */
  | { readonly type: 'pin' }
  /** A map of claim name to a pattern or a list of 1 to maxPatterns patterns, each at most maxLength characters. */
  | { readonly type: 'conditions'; readonly maxPatterns: number; readonly maxLength: number }
  /** An IAM policy document: a map of JSON values, or its JSON text; at most maxLength characters as JSON (AWS's limit). */
  | { readonly type: 'policy'; readonly maxLength: number }
  /** A list of at most maxItems claim names. */
  | { readonly type: 'claims'; readonly maxItems: number }

export type Field = FieldSpec & {
  /** Must be there (a file without it is refused). */
  readonly required?: true
  /** Set by tanuki-sts on every write (who and when): stored, never written in a mapping file. */
  readonly managed?: true
  /** For the JSON Schema (editors show it). */
  readonly description?: string
}

export const FIELDS = {
  scope: { type: 'text', maxLength: 2048, required: true,
    description: 'project URL (issuer + path), or a group URL followed by /* (its projects) or /** (any depth)' },
  role: {
    type: 'text', maxLength: 64, required: true, description: 'the name a job asks for (?role=...)',
    pattern: { regex: ROLE_NAME, message: 'must be 1 to 64 letters, digits or _.@+=- starting with a letter or digit' },
  },
  roleArn: { type: 'text', maxLength: 2048, required: true, pattern: { regex: ROLE_ARN,
    message: 'must be an IAM role ARN (arn:aws:iam::123456789012:role/name)' } },
  pin: { type: 'pin', required: true, description: 'project_id for a project scope, namespace_id for a /* scope, or "none" (required for /**)' },
  conditions: { type: 'conditions', maxPatterns: 50, maxLength: 1024,
    description: 'claim name -> pattern or list of patterns (any of); ref_protected defaults to "true"' },
  maxDuration: { type: 'integer', minimum: MIN_DURATION, maximum: MAX_DURATION },
  sessionPolicy: { type: 'policy', maxLength: 2048, description: 'an IAM policy document that scopes the session down' },
  sessionTags: { type: 'claims', maxItems: MAX_SESSION_TAGS },
  maxUses: { type: 'integer', minimum: 1, maximum: 1000, description: 'issuances per ID token' },
  maxTokenAge: { type: 'integer', minimum: 1, maximum: 86400, description: 'seconds since the token\'s iat' },
  description: { type: 'text', maxLength: 1024 },
  enabled: { type: 'boolean' },
  updatedAt: { type: 'text', maxLength: 64, managed: true },
  updatedBy: { type: 'text', maxLength: 256, managed: true },
} as const satisfies Record<string, Field>

export type FieldName = keyof typeof FIELDS

/** Every field a mapping may have, in DESIGN §4's order; any other is an error. */
export const MAPPING_FIELDS = Object.keys(FIELDS) as readonly FieldName[]
/** The fields tanuki-sts sets on every write (updatedAt, updatedBy). */
export const MANAGED_FIELDS: readonly FieldName[] = MAPPING_FIELDS.filter(f => (FIELDS[f] as Field).managed)
/** The fields a person writes: what a file may hold, what a plan compares, what a misspelt field is compared with. */
export const FILE_FIELDS: readonly FieldName[] = MAPPING_FIELDS.filter(f => !(FIELDS[f] as Field).managed)

export function isMappingField (name: string): name is FieldName {
  return Object.hasOwn(FIELDS, name)
}
