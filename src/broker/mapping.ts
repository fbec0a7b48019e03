// The mapping parser: the one every reader uses (the Lambda on a table item, the CLI on a file entry or on put's flags).
// Every field is checked by its type in mapping-fields.ts before it means anything, and any value that is not plain
// data is refused. Scopes are scope.ts's, matching is match.ts's, advice on valid mappings is mapping-warnings.ts's.
import { BOOLEAN_CLAIMS, GITLAB_ID, ID_CLAIMS, KNOWN_CLAIMS, isKnownClaim } from './claims'
import { didYouMean } from './did-you-mean'
import { MappingInvalid } from './errors'
import { patternMatcher } from './glob'
import { FIELDS, FILE_FIELDS, isMappingField } from './mapping-fields'
import type { Field } from './mapping-fields'
import { isPlainArray, isPlainObject, nonJson, notPlain } from './plain'
import { readScope } from './scope'
import type { ScopeKind } from './scope'

export type Pin = { readonly project_id: string } | { readonly namespace_id: string } | 'none'

/** One (scope, role) mapping, as stored in the `mappings` table and written in mapping files (DESIGN §4). */
export interface Mapping {
  readonly scope: string
  readonly role: string
  readonly roleArn: string
  readonly pin: Pin
  readonly conditions: Readonly<Record<string, readonly string[]>>
  readonly maxDuration?: number
  readonly sessionPolicy?: string
  readonly sessionTags?: readonly string[]
  readonly maxUses?: number
  readonly maxTokenAge?: number
  readonly description?: string
  readonly enabled: boolean
  readonly updatedAt?: string
  readonly updatedBy?: string
}

export interface Problem { path: Array<string | number>; message: string }

type Raw = Record<string, unknown>
const { conditions: CONDITIONS, sessionPolicy: POLICY } = FIELDS

/** A pattern as written: text, or a YAML boolean or whole number read as the text it was written as. */
function patternText (value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
  return undefined
}

/** Why a pattern can never match any token GitLab issues, or undefined. */
export function neverMatches (claim: string, pattern: string): string | undefined {
  if (pattern === '') return 'an empty pattern never matches'
  const probe = pattern.replace(/\*+/g, '')
  if (BOOLEAN_CLAIMS.has(claim) && !['true', 'false'].some(v => patternMatcher(pattern)(v))) {
    return `${claim} is "true" or "false"; "${pattern}" matches neither`
  }
  if (ID_CLAIMS.has(claim) && !/^[0-9]*$/.test(probe)) return `${claim} is a decimal ID; "${pattern}" can never match one`
  if (claim === 'ref_type' && !['branch', 'tag'].some(v => patternMatcher(pattern)(v))) return `ref_type is "branch" or "tag"; "${pattern}" matches neither`
  return undefined
}

/** A text, integer or boolean field, by its entry in the field table. */
function scalarField (raw: Raw, name: string, field: Field, problems: Problem[]): string | number | boolean | undefined {
  const value = raw[name]
  const problem = (message: string) => { problems.push({ path: [name], message }); return undefined }
  if (value === undefined) return field.required ? problem('is required') : undefined
  switch (field.type) {
    case 'text':
      if (typeof value !== 'string' || value.length === 0 || value.length > field.maxLength) {
        return problem(`must be a string of 1 to ${field.maxLength} characters${notPlain(value)}`)
      }
      if (field.pattern && !field.pattern.regex.test(value)) return problem(field.pattern.message)
      return value
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < field.minimum || value > field.maximum) {
        // YAML's `maxDuration: "3600"` is text: say what is wrong with it, not only what it must be.
        const quoted = typeof value === 'string' && /^\d+$/.test(value) ? ' (written without quotes)' : ''
        return problem(`must be a whole number from ${field.minimum} to ${field.maximum}${quoted}${notPlain(value)}`)
      }
      return value
    case 'boolean':
      if (typeof value !== 'boolean') {
        const quoted = value === 'true' || value === 'false' ? ` (written without quotes: "${value}" is text)` : ''
        return problem(`must be true or false${quoted}${notPlain(value)}`)
      }
      return value
    default:
      throw new TypeError(`${name} is not a scalar field`)
  }
}

function parsePin (value: unknown, kind: ScopeKind | undefined, problems: Problem[]): Pin | undefined {
  const problem = (message: string) => { problems.push({ path: ['pin'], message }); return undefined }
  if (value === undefined) {
    return problem('is required: { project_id: "N" } for a project scope, { namespace_id: "N" } for a /* scope, ' +
      'or "none" to opt out explicitly (a /** scope must say "none")')
  }
  if (value === 'none') return 'none'
  if (kind === 'subtree') return problem('must be "none" for a /** scope: a token names only its direct namespace, so it cannot be pinned')
  if (!isPlainObject(value) || Object.keys(value).length !== 1) {
    return problem(`must be { project_id: "N" }, { namespace_id: "N" } or "none"${notPlain(value)}`)
  }
  const [key, id] = Object.entries(value)[0]
  const text = patternText(id)
  if (text === undefined || !GITLAB_ID.test(text)) return problem(`${key} must be a decimal GitLab ID${notPlain(id)}`)
  if (key === 'project_id') {
    if (kind === 'group') return problem('a /* scope is pinned by namespace_id, not project_id')
    return { project_id: text }
  }
  if (key === 'namespace_id') {
    if (kind === 'project') return problem('a project scope is pinned by project_id, not namespace_id')
    return { namespace_id: text }
  }
  return problem(`unknown pin "${key}": use project_id or namespace_id`)
}

function parseConditions (value: unknown, problems: Problem[]): Record<string, readonly string[]> {
  const conditions: Record<string, readonly string[]> = {}
  // `conditions:` with nothing under it (YAML's null) is no conditions, as leaving it out is.
  if (value === undefined || value === null) return conditions
  if (!isPlainObject(value)) {
    problems.push({ path: ['conditions'], message: `must be a map of claim name to a pattern or a list of patterns${notPlain(value)}` })
    return conditions
  }
  for (const [claim, patterns] of Object.entries(value)) {
    const path = ['conditions', claim]
    if (!isKnownClaim(claim)) {
      problems.push({ path, message: `"${claim}" is not a GitLab ID-token claim${didYouMean(claim, KNOWN_CLAIMS)}` })
      continue
    }
    const listed = isPlainArray(patterns)
    const list = listed ? patterns : [patterns]
    if (list.length === 0 || list.length > CONDITIONS.maxPatterns) {
      problems.push({ path, message: `must list 1 to ${CONDITIONS.maxPatterns} patterns` })
      continue
    }
    const texts: string[] = []
    list.forEach((p, i) => {
      const at = listed ? [...path, i] : path
      const text = patternText(p)
      if (text === undefined || text.length > CONDITIONS.maxLength) {
        // YAML reads `ref: 1.10` as the number 1.1: say so, rather than that a string is needed.
        const message = typeof p === 'number' ? `is the number ${p}, not text: quote it in the file ("...") to match it as written`
          : `a pattern must be a string of at most ${CONDITIONS.maxLength} characters${notPlain(p)}`
        problems.push({ path: at, message })
        return
      }
      const never = neverMatches(claim, text)
      if (never) problems.push({ path: at, message: never })
      else texts.push(text)
    })
    conditions[claim] = Object.freeze(texts)
  }
  return conditions
}

const POLICY_FORM = 'must be an IAM policy document (a JSON object)'

/** The session policy as the JSON text AssumeRole is sent: from a map of JSON values, or from JSON text. */
function parseSessionPolicy (value: unknown, problems: Problem[]): string | undefined {
  if (value === undefined) return undefined
  const problem = (message: string, path: Array<string | number> = []) => { problems.push({ path: ['sessionPolicy', ...path], message }); return undefined }
  const tooLong = `must be at most ${POLICY.maxLength} characters (an AWS limit)`
  let text: string
  if (isPlainObject(value)) {
    // Every nested value is JSON data, or the document sent would not be the one written (a Map is sent as {}).
    const found = nonJson(value)
    if (found.length) {
      for (const f of found) problem(`is ${f.found}: a policy document holds only maps, lists, text, numbers, true, false and null`, f.path)
      return undefined
    }
    text = JSON.stringify(value)
  }
  else if (typeof value === 'string') {
    if (value.length > POLICY.maxLength) return problem(tooLong)
    let parsed: unknown
    try { parsed = JSON.parse(value) }
    catch { return problem(POLICY_FORM) }
    if (!isPlainObject(parsed)) return problem(POLICY_FORM)
    text = value
  }
  else return problem(`${POLICY_FORM}${notPlain(value)}`)
  // AWS: the packed inline session policy may not exceed 2048 characters.
  if (text.length > POLICY.maxLength) return problem(tooLong)
  return text
}

function parseSessionTags (value: unknown, problems: Problem[]): readonly string[] | undefined {
  if (value === undefined) return undefined
  const { maxItems } = FIELDS.sessionTags
  if (!isPlainArray(value) || value.length > maxItems || !value.every(t => typeof t === 'string')) {
    problems.push({ path: ['sessionTags'], message: `must be a list of at most ${maxItems} claim names${notPlain(value)}` })
    return undefined
  }
  const tags = value as string[]
  tags.forEach((t, i) => {
    if (!isKnownClaim(t)) problems.push({ path: ['sessionTags', i], message: `"${t}" is not a GitLab ID-token claim${didYouMean(t, KNOWN_CLAIMS)}` })
  })
  return Object.freeze([...new Set(tags)])
}

/**
 * Parses a mapping from a table item or a mapping file entry. Unknown fields are errors, every problem is
 * collected, and the result is a new frozen value. Throws MappingInvalid.
 */
export function parseMapping (raw: unknown): Mapping {
  if (!isPlainObject(raw)) throw new MappingInvalid([{ path: [], message: `a mapping must be an object${notPlain(raw)}` }])
  const problems: Problem[] = []
  for (const field of Object.keys(raw)) {
    if (isMappingField(field)) continue
    // `conditions:` with its claims not indented below it puts them beside the fields.
    const hint = isKnownClaim(field) ? `; "${field}" is a claim: a condition on it goes under \`conditions:\`, indented` : didYouMean(field, FILE_FIELDS)
    problems.push({ path: [field], message: `unknown field "${field}"${hint}` })
  }
  const scalar = <T>(name: keyof typeof FIELDS) => scalarField(raw, name, FIELDS[name], problems) as T | undefined
  const scope = scalar<string>('scope')
  const read = scope === undefined ? undefined : readScope(scope)
  if (read && 'problem' in read) problems.push({ path: ['scope'], message: read.problem })
  const role = scalar<string>('role')
  const roleArn = scalar<string>('roleArn')
  const pin = parsePin(raw.pin, read && !('problem' in read) ? read.kind : undefined, problems)
  const conditions = parseConditions(raw.conditions, problems)
  const maxDuration = scalar<number>('maxDuration')
  const sessionPolicy = parseSessionPolicy(raw.sessionPolicy, problems)
  const sessionTags = parseSessionTags(raw.sessionTags, problems)
  const maxUses = scalar<number>('maxUses')
  const maxTokenAge = scalar<number>('maxTokenAge')
  const description = scalar<string>('description')
  const enabled = scalar<boolean>('enabled')
  const updatedAt = scalar<string>('updatedAt')
  const updatedBy = scalar<string>('updatedBy')
  if (problems.length) throw new MappingInvalid(problems)

  const mapping: Mapping = {
    scope: scope as string,
    role: role as string,
    roleArn: roleArn as string,
    pin: pin as Pin,
    conditions: Object.freeze(conditions),
    enabled: enabled !== false,
    ...(maxDuration !== undefined && { maxDuration }),
    ...(sessionPolicy !== undefined && { sessionPolicy }),
    ...(sessionTags !== undefined && { sessionTags }),
    ...(maxUses !== undefined && { maxUses }),
    ...(maxTokenAge !== undefined && { maxTokenAge }),
    ...(description !== undefined && { description }),
    ...(updatedAt !== undefined && { updatedAt }),
    ...(updatedBy !== undefined && { updatedBy }),
  }
  return Object.freeze(mapping)
}
