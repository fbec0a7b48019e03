// Scopes (DESIGN §4): the grammar of a mapping's scope, the scopes that may hold a mapping for a project, and the rule
// that picks the one that decides. What a mapping holds is mapping.ts's; what it requires of a token, match.ts's.
import { isGitLabPath } from './claims'

export type ScopeKind = 'project' | 'group' | 'subtree'

/** What a scope is, for every message that says so (the parser's, the CLI's). */
export const SCOPE_FORM = 'a GitLab project URL (https://gitlab.example.com/group/project), ' +
  'or a group URL followed by /* (its projects) or /** (every project below it)'
const MUST = `must be ${SCOPE_FORM}`

/**
 * Reads a scope: `https://host[/sub/path]/group/project`, `.../group/*` (projects directly in it) or `.../group/**`
 * (any depth), spelled exactly as tokens spell their issuer. One set of rules for both answers: the parsed scope, or
 * what an admin must change.
 */
export function readScope (scope: string): { kind: ScopeKind; base: string } | { problem: string } {
  const kind: ScopeKind = scope.endsWith('/**') ? 'subtree' : scope.endsWith('/*') ? 'group' : 'project'
  const base = kind === 'subtree' ? scope.slice(0, -3) : kind === 'group' ? scope.slice(0, -2) : scope
  let url: URL
  try { url = new URL(base) }
  catch { return { problem: MUST } }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: MUST }
  if (url.search || url.hash || base.includes('?') || base.includes('#')) return { problem: `has a query or fragment; ${MUST}` }
  if (url.username || url.password) return { problem: `has credentials in it; ${MUST}` }
  const origin = `${url.protocol}//${url.host}`
  if (`${origin}${url.pathname === '/' ? '' : url.pathname}` !== base) return { problem: spellingProblem(scope, base, origin) }
  const path = url.pathname.slice(1)
  if (path === '') return kind === 'subtree' ? { kind, base } : { problem: MUST }
  return isGitLabPath(path) ? { kind, base } : { problem: pathProblem(url.pathname) }
}

/** A scope that URL parsing would spell otherwise: which difference it is. */
function spellingProblem (scope: string, base: string, origin: string): string {
  if (scope !== scope.trim()) return `has spaces around it; ${MUST}`
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
  if (path.includes('//')) return `has an empty path segment ("//"); ${MUST}`
  return `has a path GitLab would not have (segments of letters, digits, _, - and .); ${MUST}`
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

/** The deciding scope: the most specific candidate that holds a mapping decides alone (no merging, no fallback). */
export function decidingScope (candidates: readonly string[], found: ReadonlyMap<string, unknown>): string | undefined {
  return candidates.find(scope => found.has(scope))
}

/** What the deciding scope holds (decidingScope's rule). */
export function decidingMapping<T> (candidates: readonly string[], found: ReadonlyMap<string, T>): T | undefined {
  const scope = decidingScope(candidates, found)
  return scope === undefined ? undefined : found.get(scope)
}
