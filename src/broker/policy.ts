// Mappings: the one parser every reader uses (Lambda, CLI put/apply/validate/explain), scopes, and the pure matcher.
// Reading and writing mappings is mappings.ts's; turning a denial into a response is respond.ts's.
import { BOOLEAN_CLAIMS, ID_CLAIMS, KNOWN_CLAIMS, claimValues, isGitLabPath, isKnownClaim } from './claims'
import { didYouMean } from './did-you-mean'
import type { Denial } from './errors'
import { patternMatcher } from './glob'

export type Pin = { readonly project_id: string } | { readonly namespace_id: string } | 'none'
export type ScopeKind = 'project' | 'group' | 'subtree'

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

/** A mapping that does not parse: every problem found, each with the field path it concerns. */
export class MappingInvalid extends Error {
  readonly code = 'ERR_MAPPING_INVALID'
  constructor (readonly problems: Problem[]) {
    super(problems.map(p => (p.path.length ? `${p.path.join('.')}: ` : '') + p.message).join('; '))
    this.name = 'MappingInvalid'
  }
}

/** Role names are what a job asks for: the same rule for the request parameter and the mapping field. */
export const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,63}$/
export const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/
export const GITLAB_ID = /^[1-9][0-9]{0,19}$/
/** AssumeRole from a Lambda role is role chaining: AWS caps the session at one hour. */
export const MIN_DURATION = 900
export const MAX_DURATION = 3600
/** AWS: at most 50 session tags per AssumeRole; 6 are ours by default. */
export const MAX_SESSION_TAGS = 40
export const DEFAULT_SESSION_TAGS: readonly string[] =
  ['project_path', 'ref', 'pipeline_id', 'job_id', 'user_login', 'environment']
/** Fields tanuki-sts sets on every write (who and when): stored, never written in a mapping file. */
export const MANAGED_FIELDS: readonly string[] = ['updatedAt', 'updatedBy']
/** Every field a mapping may have; any other is an error. */
export const MAPPING_FIELDS: readonly string[] = ['scope', 'role', 'roleArn', 'pin', 'conditions', 'maxDuration', 'sessionPolicy', 'sessionTags',
  'maxUses', 'maxTokenAge', 'description', 'enabled', 'updatedAt', 'updatedBy']
const FIELDS: ReadonlySet<string> = new Set(MAPPING_FIELDS)
/** The fields a person writes: what a misspelt field is compared with (never the managed ones). */
const FILE_FIELDS = MAPPING_FIELDS.filter(f => !MANAGED_FIELDS.includes(f))

const SCOPE_FORM = 'must be a GitLab project URL (https://gitlab.example.com/group/project), ' +
  'or a group URL followed by /* (its projects) or /** (every project below it)'

/**
 * Reads a scope: `https://host[/sub/path]/group/project`, `.../group/*` (projects directly in it) or `.../group/**`
 * (any depth), spelled exactly as tokens spell their issuer. One set of rules for both answers: the parsed scope, or
 * what an admin must change.
 */
function readScope (scope: string): { kind: ScopeKind; base: string } | { problem: string } {
  const kind: ScopeKind = scope.endsWith('/**') ? 'subtree' : scope.endsWith('/*') ? 'group' : 'project'
  const base = kind === 'subtree' ? scope.slice(0, -3) : kind === 'group' ? scope.slice(0, -2) : scope
  let url: URL
  try { url = new URL(base) }
  catch { return { problem: SCOPE_FORM } }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: SCOPE_FORM }
  if (url.search || url.hash || base.includes('?') || base.includes('#')) return { problem: `has a query or fragment; ${SCOPE_FORM}` }
  if (url.username || url.password) return { problem: `has credentials in it; ${SCOPE_FORM}` }
  const origin = `${url.protocol}//${url.host}`
  if (`${origin}${url.pathname === '/' ? '' : url.pathname}` !== base) return { problem: spellingProblem(scope, base, origin) }
  const path = url.pathname.slice(1)
  if (path === '') return kind === 'subtree' ? { kind, base } : { problem: SCOPE_FORM }
  return isGitLabPath(path) ? { kind, base } : { problem: pathProblem(url.pathname) }
}

/** A scope that URL parsing would spell otherwise: which difference it is. */
function spellingProblem (scope: string, base: string, origin: string): string {
  if (scope !== scope.trim()) return `has spaces around it; ${SCOPE_FORM}`
  const afterHost = base.indexOf('/', base.indexOf('//') + 2)
  const path = afterHost === -1 ? '' : base.slice(afterHost)
  if (!path.endsWith('/') && !base.startsWith(`${origin}/`) && base !== origin) {
    return `is spelled differently from how tokens spell their issuer: write ${origin}${path} (lower-case host, no default port)`
  }
  return pathProblem(path)
}

/** What is wrong with a scope's path (from its first "/"). */
function pathProblem (path: string): string {
  if (path.endsWith('/')) return 'ends with "/": write it without, or end it with /* or /** for a group'
  if (path.includes('//')) return `has an empty path segment ("//"); ${SCOPE_FORM}`
  return `has a path GitLab would not have (segments of letters, digits, _, - and .); ${SCOPE_FORM}`
}

export function parseScope (scope: string): { kind: ScopeKind; base: string } | undefined {
  const read = readScope(scope)
  return 'problem' in read ? undefined : read
}

/** Why a scope does not parse, as specifically as can be said (undefined: it parses). */
export function scopeProblem (scope: string): string | undefined {
  const read = readScope(scope)
  return 'problem' in read ? read.problem : undefined
}

/** The scopes that may hold a mapping for this project, most specific first: project, `/*` of its group, then `/**` upwards. */
export function candidateScopes (issuer: string, projectPath: string): string[] {
  const segments = projectPath.split('/')
  const scopes = [`${issuer}/${projectPath}`, `${issuer}/${segments.slice(0, -1).join('/')}/*`]
  for (let depth = segments.length - 1; depth >= 0; depth--) {
    scopes.push(depth === 0 ? `${issuer}/**` : `${issuer}/${segments.slice(0, depth).join('/')}/**`)
  }
  return scopes
}

/** Whether a scope covers this project: the same answer as membership in candidateScopes. */
export function scopeCovers (scope: string, issuer: string, projectPath: string): boolean {
  return candidateScopes(issuer, projectPath).includes(scope)
}

type Raw = Record<string, unknown>
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v)

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

function intField (raw: Raw, field: string, min: number, max: number, problems: Problem[]): number | undefined {
  const value = raw[field]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    // YAML's `maxDuration: "3600"` is text: say what is wrong with it, not only what it must be.
    const quoted = typeof value === 'string' && /^\d+$/.test(value) ? ' (written without quotes)' : ''
    problems.push({ path: [field], message: `must be a whole number from ${min} to ${max}${quoted}` })
    return undefined
  }
  return value
}

function parsePin (value: unknown, kind: ScopeKind | undefined, problems: Problem[]): Pin | undefined {
  const problem = (message: string) => { problems.push({ path: ['pin'], message }); return undefined }
  if (value === undefined) {
    return problem('is required: { project_id: "N" } for a project scope, { namespace_id: "N" } for a /* scope, ' +
      'or "none" to opt out explicitly (a /** scope must say "none")')
  }
  if (value === 'none') return 'none'
  if (kind === 'subtree') return problem('must be "none" for a /** scope: a token names only its direct namespace, so it cannot be pinned')
  if (!isObject(value) || Object.keys(value).length !== 1) {
    return problem('must be { project_id: "N" }, { namespace_id: "N" } or "none"')
  }
  const [key, id] = Object.entries(value)[0]
  const text = patternText(id)
  if (text === undefined || !GITLAB_ID.test(text)) return problem(`${key} must be a decimal GitLab ID`)
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
  if (value === undefined || value === null) return conditions
  if (!isObject(value)) {
    problems.push({ path: ['conditions'], message: 'must be a map of claim name to a pattern or a list of patterns' })
    return conditions
  }
  for (const [claim, patterns] of Object.entries(value)) {
    const path = ['conditions', claim]
    if (!isKnownClaim(claim)) {
      problems.push({ path, message: `"${claim}" is not a GitLab ID-token claim${didYouMean(claim, KNOWN_CLAIMS)}` })
      continue
    }
    const list = Array.isArray(patterns) ? patterns : [patterns]
    if (list.length === 0 || list.length > 50) {
      problems.push({ path, message: 'must list 1 to 50 patterns' })
      continue
    }
    const texts: string[] = []
    list.forEach((p, i) => {
      const at = Array.isArray(patterns) ? [...path, i] : path
      const text = patternText(p)
      if (text === undefined || text.length > 1024) {
        // YAML reads `ref: 1.10` as the number 1.1: say so, rather than that a string is needed.
        const message = typeof p === 'number' ? `is the number ${p}, not text: quote it in the file ("...") to match it as written` : 'a pattern must be a string of at most 1024 characters'
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

function parseSessionPolicy (value: unknown, problems: Problem[]): string | undefined {
  if (value === undefined) return undefined
  let text: string
  if (isObject(value)) text = JSON.stringify(value)
  else if (typeof value === 'string') {
    try {
      if (!isObject(JSON.parse(value))) throw new TypeError('not an object')
    }
    catch {
      problems.push({ path: ['sessionPolicy'], message: 'must be an IAM policy document (a JSON object)' })
      return undefined
    }
    text = value
  }
  else {
    problems.push({ path: ['sessionPolicy'], message: 'must be an IAM policy document (a JSON object)' })
    return undefined
  }
  // AWS: the packed inline session policy may not exceed 2048 characters.
  if (text.length > 2048) problems.push({ path: ['sessionPolicy'], message: 'must be at most 2048 characters (an AWS limit)' })
  return text
}

/**
 * Parses a mapping from a table item or a mapping file entry. Unknown fields are errors, every problem is
 * collected, and the result is a new frozen value. Throws MappingInvalid.
 */
export function parseMapping (raw: unknown): Mapping {
  if (!isObject(raw)) throw new MappingInvalid([{ path: [], message: 'a mapping must be an object' }])
  const problems: Problem[] = []
  for (const field of Object.keys(raw)) {
    if (FIELDS.has(field)) continue
    // `conditions:` with its claims not indented below it puts them beside the fields.
    const hint = isKnownClaim(field) ? `; "${field}" is a claim: a condition on it goes under \`conditions:\`, indented` : didYouMean(field, FILE_FIELDS)
    problems.push({ path: [field], message: `unknown field "${field}"${hint}` })
  }
  const text = (field: string, max: number, required: boolean): string | undefined => {
    const value = raw[field]
    if (value === undefined && !required) return undefined
    if (typeof value !== 'string' || value.length === 0 || value.length > max) {
      problems.push({ path: [field], message: value === undefined ? 'is required' : `must be a string of 1 to ${max} characters` })
      return undefined
    }
    return value
  }
  const scope = text('scope', 2048, true)
  const read = scope === undefined ? undefined : readScope(scope)
  if (read && 'problem' in read) problems.push({ path: ['scope'], message: read.problem })
  const parsedScope = read && !('problem' in read) ? read : undefined
  const role = text('role', 64, true)
  if (role !== undefined && !ROLE_NAME.test(role)) {
    problems.push({ path: ['role'], message: 'must be 1 to 64 letters, digits or _.@+=- starting with a letter or digit' })
  }
  const roleArn = text('roleArn', 2048, true)
  if (roleArn !== undefined && !ROLE_ARN.test(roleArn)) {
    problems.push({ path: ['roleArn'], message: 'must be an IAM role ARN (arn:aws:iam::123456789012:role/name)' })
  }
  const pin = parsePin(raw.pin, parsedScope?.kind, problems)
  const conditions = parseConditions(raw.conditions, problems)
  const maxDuration = intField(raw, 'maxDuration', MIN_DURATION, MAX_DURATION, problems)
  const maxUses = intField(raw, 'maxUses', 1, 1000, problems)
  const maxTokenAge = intField(raw, 'maxTokenAge', 1, 86400, problems)
  const sessionPolicy = parseSessionPolicy(raw.sessionPolicy, problems)
  let sessionTags: readonly string[] | undefined
  if (raw.sessionTags !== undefined) {
    const tags = raw.sessionTags
    if (!Array.isArray(tags) || tags.length > MAX_SESSION_TAGS || !tags.every(t => typeof t === 'string')) {
      problems.push({ path: ['sessionTags'], message: `must be a list of at most ${MAX_SESSION_TAGS} claim names` })
    }
    else {
      tags.forEach((t, i) => {
        if (!isKnownClaim(t)) problems.push({ path: ['sessionTags', i], message: `"${t}" is not a GitLab ID-token claim${didYouMean(t, KNOWN_CLAIMS)}` })
      })
      sessionTags = Object.freeze([...new Set(tags as string[])])
    }
  }
  const description = text('description', 1024, false)
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') {
    const quoted = raw.enabled === 'true' || raw.enabled === 'false' ? ` (written without quotes: "${raw.enabled}" is text)` : ''
    problems.push({ path: ['enabled'], message: `must be true or false${quoted}` })
  }
  const updatedAt = text('updatedAt', 64, false)
  const updatedBy = text('updatedBy', 256, false)
  if (problems.length) throw new MappingInvalid(problems)

  const mapping: Mapping = {
    scope: scope as string,
    role: role as string,
    roleArn: roleArn as string,
    pin: pin as Pin,
    conditions: Object.freeze(conditions),
    enabled: raw.enabled !== false,
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

/**
 * Advice on a valid mapping: things it allows that its author may not mean. Never an error (the broker applies the
 * mapping as written); `mappings validate` and `apply` print them.
 */
export function mappingWarnings (mapping: Mapping): Problem[] {
  const warnings: Problem[] = []
  if ('ref' in mapping.conditions && !('ref_type' in mapping.conditions) && !('ref_path' in mapping.conditions)) {
    warnings.push({
      path: ['conditions', 'ref'],
      message: 'matches a branch or a tag of that name; add `ref_type: branch` (or `tag`), or match `ref_path: refs/heads/...`, to say which',
    })
  }
  // An environment is a name the job's own .gitlab-ci.yml gives: on an unprotected ref any branch can claim it. Only a
  // protected environment (GitLab decides who may deploy to it) says more.
  const c = mapping.conditions
  const admitsFalse = (claim: string) => (c[claim] ?? []).some(p => patternMatcher(p)('false'))
  if ('environment' in c && admitsFalse('ref_protected') && (!('environment_protected' in c) || admitsFalse('environment_protected'))) {
    warnings.push({
      path: ['conditions', 'environment'],
      message: 'applies on unprotected refs too (ref_protected allows "false"), where any branch\'s job can name this environment; ' +
        'require `environment_protected: "true"` so only jobs GitLab lets deploy to the protected environment match',
    })
  }
  // `none` is required for /**, and an explicit choice elsewhere: say what it gives up where a pin was possible.
  const kind = parseScope(mapping.scope)?.kind
  if (mapping.pin === 'none' && kind !== 'subtree') {
    const [what, id] = kind === 'project' ? ['project', 'project_id'] : ['group', 'namespace_id']
    warnings.push({
      path: ['pin'],
      message: `"none" where a pin is possible: a ${what} deleted and created again at this path would get the role too; pin its ${id} unless that is what you want`,
    })
  }
  return warnings
}

/** One rule of a mapping, checked against a token: what `explain` prints and the audit records. */
export interface Check extends Denial {
  ok: boolean
}

interface Compiled { conditions: Array<[string, readonly string[], Array<(v: string) => boolean>]> }
const compiledCache = new WeakMap<Mapping, Compiled>()
function compiled (mapping: Mapping): Compiled {
  let c = compiledCache.get(mapping)
  if (!c) {
    c = { conditions: Object.entries(mapping.conditions).map(([claim, patterns]) => [claim, patterns, patterns.map(patternMatcher)]) }
    compiledCache.set(mapping, c)
  }
  return c
}

function show (value: unknown): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * Every rule of a mapping against the claims, in order: scope, enabled, pin, each condition (with the
 * secure default ref_protected = "true" when the mapping says nothing of it), token age. Pure.
 */
export function evaluateMapping (mapping: Mapping, claims: Readonly<Record<string, unknown>>, now: Date): Check[] {
  const checks: Check[] = []
  const issuer = typeof claims.iss === 'string' ? claims.iss : ''
  const projectPath = typeof claims.project_path === 'string' ? claims.project_path : ''
  checks.push({ condition: 'scope', expected: mapping.scope, actual: `${issuer}/${projectPath}`, ok: scopeCovers(mapping.scope, issuer, projectPath) })
  checks.push({ condition: 'enabled', expected: 'true', actual: String(mapping.enabled), ok: mapping.enabled })
  if (mapping.pin !== 'none') {
    const [claim, id] = Object.entries(mapping.pin)[0] as [string, string]
    checks.push({ condition: `pin.${claim}`, expected: id, actual: show(claims[claim]), ok: claims[claim] === id })
  }
  const conditions = compiled(mapping).conditions
  if (!('ref_protected' in mapping.conditions)) {
    checks.push({ condition: 'ref_protected', expected: ['true'], actual: show(claims.ref_protected), ok: claimValues(claims.ref_protected).includes('true') })
  }
  for (const [claim, patterns, matchers] of conditions) {
    const values = claimValues(claims[claim])
    const ok = values.some(v => matchers.some(m => m(v)))
    checks.push({ condition: claim, expected: [...patterns], actual: show(claims[claim]), ok })
  }
  if (mapping.maxTokenAge !== undefined) {
    const age = typeof claims.iat === 'number' ? Math.floor(now.getTime() / 1000) - claims.iat : Infinity
    checks.push({ condition: 'maxTokenAge', expected: `at most ${mapping.maxTokenAge}s old`, actual: `${age}s old`, ok: age <= mapping.maxTokenAge })
  }
  return checks
}

export type Verdict = { allow: true } | { allow: false; denial: Denial }

/** The broker's verdict for one mapping: allow, or the first rule that failed. */
export function matchMapping (mapping: Mapping, claims: Readonly<Record<string, unknown>>, now: Date): Verdict {
  const failed = evaluateMapping(mapping, claims, now).find(c => !c.ok)
  if (!failed) return { allow: true }
  const { ok: _ok, ...denial } = failed
  return { allow: false, denial }
}

/** The deciding mapping: the most specific candidate scope that has one decides alone (no merging, no fallback). */
export function decidingMapping<T> (candidates: readonly string[], found: ReadonlyMap<string, T>): T | undefined {
  for (const scope of candidates) {
    const mapping = found.get(scope)
    if (mapping) return mapping
  }
  return undefined
}

export type Decision =
  | { readonly allow: true; readonly mapping: Mapping }
  | { readonly allow: false; readonly mapping?: Mapping; readonly invalid?: MappingInvalid; readonly denial: Denial }

/**
 * The broker's decision for a role, given what the table holds at each candidate scope (most specific first).
 * A broken mapping still decides (it grants nothing): a broader one never takes over. The CLI's `explain` calls this too.
 */
export function decide (candidates: readonly string[], found: ReadonlyMap<string, Mapping | MappingInvalid>,
  claims: Readonly<Record<string, unknown>>, now: Date): Decision {
  const stored = decidingMapping(candidates, found)
  if (stored === undefined) return { allow: false, denial: { condition: 'mapping', expected: [...candidates], actual: 'none' } }
  if (stored instanceof MappingInvalid) return { allow: false, invalid: stored, denial: { condition: 'mapping', expected: 'a valid mapping', actual: 'invalid' } }
  const verdict = matchMapping(stored, claims, now)
  return verdict.allow ? { allow: true, mapping: stored } : { allow: false, mapping: stored, denial: verdict.denial }
}
