// What `explain` (and the console's Explain page) says of a role for a token's claims: each candidate scope, every rule
// of each mapping, and the broker's verdict in the words of its 403. Built with the broker's own decide, evaluateMapping
// and denialMessage, so the two cannot disagree; reading the claims and printing are explain.ts's and the console's.
import { projectUrl } from '../broker/claims'
import type { GitLabClaims } from '../broker/claims'
import type { Denial } from '../broker/errors'
import { denialMessage, failingRules } from '../broker/denial-message'
import { MappingInvalid } from '../broker/errors'
import type { Mapping } from '../broker/mapping'
import type { StoredMapping } from '../broker/mappings'
import { decide, evaluateMapping } from '../broker/match'
import type { Check } from '../broker/match'
import { candidateScopes, decidingScope } from '../broker/scope'
import { formatPath } from './problems'

export type Candidate =
  | { scope: string; status: 'none' }
  | { scope: string; status: 'invalid'; decides: boolean; problems: Array<{ path: string; message: string }> }
  | { scope: string; status: 'mapping'; decides: boolean; mapping: Mapping; checks: Check[] }

export interface Explanation {
  role: string
  target: string
  claims: { verified: boolean; note: string; iss: unknown; project_path: unknown; project_id: unknown; ref: unknown; ref_protected: unknown }
  candidates: Candidate[]
  maxUses?: { limit: number; used?: number; checked: boolean; note: string }
  /** When no candidate scope holds the role: where the role is mapped instead (none of which covers this project). */
  mappedElsewhere?: string[]
  verdict: { allow: boolean; status: number; code?: string; message?: string; denial?: Denial; scope?: string }
}

/** What an explanation reads: the mappings table (as the broker does), the token's use count, where a role is mapped. */
export interface ExplainSources {
  find (scopes: readonly string[], role: string): Promise<Map<string, StoredMapping>>
  countUses (tokenSha256: string, scope: string, role: string): Promise<number>
  /** Every scope that holds a mapping for the role (one Scan: the admin's tools only, never the broker's request path). */
  mappedScopes (role: string): Promise<string[]>
  /** The roles mapped at these scopes, as the broker's "no mapping" 403 names them (mapped-roles.ts). */
  projectRoles (scopes: readonly string[]): Promise<string[]>
}

export interface ExplainInput {
  readonly claims: GitLabClaims
  /** The verified token's SHA-256; undefined for claims taken as given (then maxUses cannot be checked). */
  readonly sha256?: string
  readonly role: string
  /** Where the mappings were read (a stack, the local sandbox), as the explanation names it. */
  readonly target: string
  readonly now: Date
}

export async function buildExplanation (input: ExplainInput, sources: ExplainSources): Promise<Explanation> {
  const { claims, sha256, role, now } = input
  const scopes = candidateScopes(claims.iss, claims.project_path)
  const project = projectUrl(claims)
  const found = await sources.find(scopes, role)
  // The broker's decision, by the broker's function.
  const decision = decide(scopes, found, claims, now)
  const decider = decidingScope(scopes, found)
  // As the broker words a "no mapping" denial: with the roles this project has. A hint: unreadable, it is left out.
  const projectRoles = !decision.allow && decision.denial.actual === 'none' ? await sources.projectRoles(scopes).catch(() => []) : []
  const candidates: Candidate[] = scopes.map(scope => {
    const stored = found.get(scope)
    if (stored === undefined) return { scope, status: 'none' }
    if (stored instanceof MappingInvalid) {
      return { scope, status: 'invalid', decides: scope === decider, problems: stored.problems.map(p => ({ path: formatPath(p.path), message: p.message })) }
    }
    return { scope, status: 'mapping', decides: scope === decider, mapping: stored, checks: evaluateMapping(stored, claims, now) }
  })
  const explanation: Explanation = {
    role,
    target: input.target,
    claims: {
      verified: sha256 !== undefined,
      note: sha256 !== undefined ? 'token verified (signature, issuer, audience, time)' : 'claims taken as given, not verified',
      iss: claims.iss, project_path: claims.project_path, project_id: claims.project_id, ref: claims.ref, ref_protected: claims.ref_protected,
    },
    candidates,
    verdict: decision.allow
      ? { allow: true, status: 200, scope: decision.mapping.scope }
      : { allow: false, status: 403, code: 'access_denied',
          message: denialMessage(role, project, decision.mapping, decision.denial, decision.mapping ? failingRules(decision.mapping, claims, now) - 1 : 0, projectRoles),
          denial: decision.denial, ...(decider && { scope: decider }) },
  }
  if (decision.allow && decision.mapping.maxUses !== undefined) {
    const limit = decision.mapping.maxUses
    // The broker's next step (audit.ts reserveIssuance): a use slot must be free for this token.
    if (sha256 === undefined) {
      explanation.maxUses = { limit, checked: false, note: 'not checked: the use count is per token (give a token, not claims)' }
    }
    else {
      const used = await sources.countUses(sha256, decision.mapping.scope, role)
      explanation.maxUses = { limit, used, checked: true, note: `${used} of ${limit} use(s) taken by this token` }
      if (used >= limit) {
        const denial: Denial = { condition: 'maxUses', expected: `at most ${limit}`, actual: 'exhausted' }
        explanation.verdict = { allow: false, status: 403, code: 'access_denied', scope: decision.mapping.scope,
          message: denialMessage(role, project, decision.mapping, denial), denial }
      }
    }
  }
  // A near miss is the usual reason for "no mapping" (a /* one level too high, another issuer's URL): show where the role is mapped.
  if (!decision.allow && decision.denial.actual === 'none') explanation.mappedElsewhere = (await sources.mappedScopes(role)).sort()
  return explanation
}
