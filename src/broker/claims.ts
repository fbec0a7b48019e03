// The GitLab ID-token claim set: which claims exist, their shapes, and the check of a verified payload.
// Signature, issuer, audience and time checks are token.ts's; what a mapping requires of claims is match.ts's.
import { InvalidToken } from './errors'

/**
 * Claims GitLab puts in CI ID tokens (docs.gitlab.com/ci/secrets/id_token_authentication), the only
 * names a mapping condition or session tag may use: a typo in a mapping is an error, not a silent never-match.
 */
export const KNOWN_CLAIMS = [
  'namespace_id', 'namespace_path', 'project_id', 'project_path', 'project_visibility',
  'user_id', 'user_login', 'user_email', 'user_access_level', 'user_identities',
  'pipeline_id', 'pipeline_source', 'job_id',
  'ref', 'ref_type', 'ref_path', 'ref_protected',
  'environment', 'environment_protected', 'deployment_tier', 'environment_action',
  'runner_id', 'runner_environment', 'sha', 'ci_config_ref_uri', 'ci_config_sha',
  'groups_direct', 'job_project_id', 'job_project_path', 'job_namespace_id', 'job_namespace_path',
  'source_project_id', 'source_project_path', 'sub', 'aud', 'iss',
] as const
export type ClaimName = typeof KNOWN_CLAIMS[number]
const known: ReadonlySet<string> = new Set(KNOWN_CLAIMS)
export function isKnownClaim (name: string): name is ClaimName {
  return known.has(name)
}

/** Claims whose values are decimal IDs (GitLab sends them as strings). */
export const ID_CLAIMS: ReadonlySet<string> = new Set([
  'namespace_id', 'project_id', 'user_id', 'pipeline_id', 'job_id',
  'job_project_id', 'job_namespace_id', 'source_project_id',
])
/** Claims whose values are the strings "true" / "false". */
export const BOOLEAN_CLAIMS: ReadonlySet<string> = new Set(['ref_protected', 'environment_protected'])

/** A verified GitLab CI ID token's claims, checked for shape. Other claims pass through untyped. */
export interface GitLabClaims {
  readonly iss: string
  readonly sub: string
  readonly jti: string
  readonly iat: number
  readonly exp: number
  readonly project_id: string
  readonly project_path: string
  readonly namespace_id: string
  readonly namespace_path: string
  readonly pipeline_id: string
  readonly job_id: string
  readonly ref: string
  readonly ref_type: string
  readonly ref_protected: 'true' | 'false'
  readonly user_login?: string
  readonly environment?: string
  readonly [claim: string]: unknown
}

// GitLab: a path segment holds letters, digits, '_', '-' and '.', and cannot be made of dots alone.
// ASCII only: a look-alike (Cyrillic 'а') or an encoded character is not a GitLab path.
const SEGMENT = /^(?!\.+$)[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}$/
/** A GitLab ID (project, namespace, user, pipeline, job): decimal, as GitLab sends it in claims and a mapping pins it. */
export const GITLAB_ID = /^[1-9][0-9]{0,19}$/
/**
 * GitLab nests at most 20 levels of subgroups below a top-level group (docs.gitlab.com/user/group/subgroups/; its
 * Namespace::NUMBER_OF_ANCESTORS_ALLOWED): a group path has at most 21 segments, a project path one more. A deeper path
 * is no GitLab's, and each segment is one more candidate scope to look up (DynamoDB's BatchGetItem takes 100 keys).
 */
export const MAX_GROUP_SEGMENTS = 21

/** The project's URL (issuer + path): its own mapping scope, and how audit records and messages name it. */
export function projectUrl (claims: Pick<GitLabClaims, 'iss' | 'project_path'>): string {
  return `${claims.iss}/${claims.project_path}`
}

export function isGitLabPath (value: string): boolean {
  if (value.length === 0 || value.length > 1024) return false
  return value.split('/').every(s => SEGMENT.test(s))
}

function fail (claim: string, reason: string): never {
  throw new InvalidToken(`The token's "${claim}" claim ${reason}; this is not a GitLab CI ID token the broker accepts.`, { reason: 'gitlab_claims' })
}

function str (payload: Record<string, unknown>, claim: string, optional = false): string | undefined {
  const value = payload[claim]
  if (value === undefined && optional) return undefined
  if (value === undefined) fail(claim, 'is missing')
  if (typeof value !== 'string') fail(claim, `must be a string, not ${Array.isArray(value) ? 'an array' : typeof value}`)
  if (value.length === 0 || value.length > 2048) fail(claim, 'must be a non-empty string of at most 2048 characters')
  return value
}

/**
 * 9999-12-31T23:59:59Z. A time claim past it is no GitLab's; and far past it (1e20, say) it is no longer a whole number
 * of seconds, and the audit record, which keeps a token's use slots until `exp`, could not be stored: a 503, not a 401.
 */
const LATEST_TIME = 253402300799

/** The claims every GitLab CI ID token carries, and the broker needs. */
export const REQUIRED_CLAIMS: readonly string[] = [
  'jti', 'sub', 'ref', 'ref_type', 'ref_protected', 'project_id', 'project_path', 'namespace_id', 'namespace_path', 'pipeline_id', 'job_id',
]

/**
 * Checks a verified payload has GitLab's claim shapes; throws InvalidToken naming every required claim it lacks, else
 * the first claim of the wrong shape.
 */
export function parseGitLabClaims (payload: Record<string, unknown>): GitLabClaims {
  const missing = REQUIRED_CLAIMS.filter(claim => payload[claim] === undefined)
  if (missing.length > 0) {
    const names = missing.map(claim => `"${claim}"`).join(', ')
    throw new InvalidToken(`The token lacks the claim${missing.length > 1 ? 's' : ''} ${names}; this is not a GitLab CI ID token the broker accepts.`, { reason: 'gitlab_claims' })
  }
  for (const claim of ['jti', 'sub', 'ref', 'ref_type']) str(payload, claim)
  for (const claim of ['iat', 'nbf', 'exp']) {
    const value = payload[claim]
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= LATEST_TIME)) {
      fail(claim, 'must be whole seconds since 1970, no later than the year 9999')
    }
  }
  for (const claim of ID_CLAIMS) {
    const value = str(payload, claim, !REQUIRED_CLAIMS.includes(claim))
    if (value !== undefined && !GITLAB_ID.test(value)) fail(claim, 'must be a decimal ID')
  }
  for (const claim of BOOLEAN_CLAIMS) {
    const value = str(payload, claim, !REQUIRED_CLAIMS.includes(claim))
    if (value !== undefined && value !== 'true' && value !== 'false') fail(claim, 'must be the string "true" or "false"')
  }
  const projectPath = str(payload, 'project_path') as string
  const namespacePath = str(payload, 'namespace_path') as string
  if (!isGitLabPath(projectPath)) fail('project_path', 'is not a GitLab project path')
  if (!isGitLabPath(namespacePath)) fail('namespace_path', 'is not a GitLab group path')
  const depth = (path: string) => path.split('/').length
  if (depth(projectPath) > MAX_GROUP_SEGMENTS + 1) {
    fail('project_path', `has ${depth(projectPath)} segments; GitLab allows at most ${MAX_GROUP_SEGMENTS + 1} (a top-level group, at most 20 levels of subgroups, then the project)`)
  }
  if (depth(namespacePath) > MAX_GROUP_SEGMENTS) {
    fail('namespace_path', `has ${depth(namespacePath)} segments; GitLab allows at most ${MAX_GROUP_SEGMENTS} (a top-level group and at most 20 levels of subgroups)`)
  }
  if (!projectPath.startsWith(namespacePath + '/') || projectPath.slice(namespacePath.length + 1).includes('/')) {
    fail('project_path', 'is not directly inside the token\'s namespace_path')
  }
  for (const claim of ['user_login', 'user_email', 'environment', 'pipeline_source', 'ref_path', 'sha', 'deployment_tier']) {
    str(payload, claim, true)
  }
  if (payload.groups_direct !== undefined &&
      !(Array.isArray(payload.groups_direct) && payload.groups_direct.every(g => typeof g === 'string'))) {
    fail('groups_direct', 'must be an array of strings')
  }
  return payload as unknown as GitLabClaims
}

/** A claim's value as the strings a condition compares: booleans as "true"/"false", numbers in decimal, arrays by element. */
export function claimValues (value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value === 'boolean') return [value ? 'true' : 'false']
  if (typeof value === 'number' && Number.isFinite(value)) return [String(value)]
  if (Array.isArray(value)) return value.flatMap(v => (typeof v === 'object' && v !== null) ? [] : claimValues(v))
  return []
}
