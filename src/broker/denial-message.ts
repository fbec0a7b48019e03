// The 403's words: which rule decided, and what the job's author or an admin can do about it. The broker's answer, its
// audit record and `tanuki-sts explain` say the same through these functions. Which rule decides is match.ts's.
import { closestName } from './did-you-mean'
import type { Denial } from './errors'
import { evaluateMapping } from './match'
import type { Mapping } from './mapping'

/** How many of a project's role names a message lists; more are counted. */
const LISTED_ROLES = 10

/**
 * The 403's message. `others`: how many more of the mapping's rules this token fails (named as a count, so a job is not
 * fixed one condition per pipeline run). `projectRoles`: the roles mapped for this project (mapped-roles.ts), which a
 * "no mapping" message offers instead; read only for that denial.
 */
export function denialMessage (role: string, project: string, mapping: Mapping | undefined, denial: Denial, others = 0,
  projectRoles: readonly string[] = []): string {
  if (!mapping) {
    if (denial.actual === 'none') return noMappingMessage(role, project, projectRoles)
    return `The mapping for the role "${role}" that applies to ${project} is invalid, so it grants nothing; ` +
      'an admin must fix it (tanuki-sts mappings list marks it invalid; mappings get SCOPE ROLE says why).'
  }
  // A CI job cannot ask for a new ID token itself: GitLab makes one for each run of the job.
  if (denial.condition === 'maxUses') {
    return `This ID token has used up the role "${role}" (maxUses ${mapping.maxUses}). Re-run the job to get a new ID token: GitLab issues one per job run.`
  }
  if (denial.condition === 'enabled') {
    return `The mapping ${mapping.scope} for the role "${role}" is disabled (enabled: false), so it grants nothing; an admin must enable it.`
  }
  const expected = Array.isArray(denial.expected) ? denial.expected.map(e => JSON.stringify(e)).join(' or ') : JSON.stringify(denial.expected)
  const actual = denial.actual === undefined ? 'nothing' : JSON.stringify(denial.actual)
  const note = denial.condition === 'ref_protected' && !('ref_protected' in mapping.conditions)
    ? ' (the default: only protected refs may use a mapping that does not say otherwise)' : ''
  // A glob is matched, not equalled; and `*` stops at `/` (the usual surprise with refs like v1/hotfix).
  const patterns = [denial.expected].flat().filter((e): e is string => typeof e === 'string')
  const verb = patterns.some(p => p.includes('*')) ? 'match' : 'be'
  const glob = patterns.some(p => /(^|[^*])\*([^*]|$)/.test(p)) ? ' (* does not cross /; ** does)' : ''
  const more = others > 0 ? ` It fails ${others} more condition${others > 1 ? 's' : ''} of this mapping too (tanuki-sts explain lists every one).` : ''
  return `The mapping ${mapping.scope} for the role "${role}" requires ${denial.condition} to ${verb} ${expected}${glob}${note}; ` +
    `this token has ${actual}.${more}`
}

/** No candidate scope maps the role: the closest of the project's own roles to a misspelt one, or the list of them. */
function noMappingMessage (role: string, project: string, projectRoles: readonly string[]): string {
  const none = `No mapping lets ${project} use the role "${role}"`
  if (projectRoles.length === 0) return `${none}. Ask an admin to add one (tanuki-sts mappings put).`
  const shown = projectRoles.slice(0, LISTED_ROLES).map(r => `"${r}"`).join(', ')
  const more = projectRoles.length > LISTED_ROLES ? ` and ${projectRoles.length - LISTED_ROLES} more` : ''
  const list = `Roles mapped for this project: ${shown}${more}.`
  const guess = closestName(role, projectRoles)
  if (guess !== undefined && guess !== role) return `${none}; did you mean "${guess}"? ${list}`
  return `${none}. ${list} If the job needs "${role}", ask an admin to add it (tanuki-sts mappings put).`
}

/** How many of a mapping's rules (scope, enabled, pin, conditions, token age) these claims fail. */
export function failingRules (mapping: Mapping, claims: Readonly<Record<string, unknown>>, now: Date): number {
  return evaluateMapping(mapping, claims, now).filter(check => !check.ok).length
}
