// "What can this project get": of every stored mapping, those that cover a project and, per role, the one that decides
// (scope.ts's decidingScope over the project's candidate scopes). `mappings list --project` and the console show it.
import { decidingScope } from './scope'

export interface Coverage<E extends { readonly scope: string; readonly role: string }> {
  /** The stored mappings whose scope is one of the project's candidates: by role, then most specific first. */
  readonly covering: E[]
  /** Per role, the scope of the mapping that decides for this project (the others of that role are shadowed by it). */
  readonly deciders: ReadonlyMap<string, string>
}

/** `candidates`: the project's candidate scopes, most specific first (scope.ts's candidateScopes). */
export function projectCoverage<E extends { readonly scope: string; readonly role: string }> (
  entries: readonly E[], candidates: readonly string[]
): Coverage<E> {
  const rank = (e: E) => candidates.indexOf(e.scope)
  const byRole = new Map<string, Map<string, E>>()
  for (const e of entries) if (rank(e) >= 0) byRole.set(e.role, (byRole.get(e.role) ?? new Map<string, E>()).set(e.scope, e))
  const deciders = new Map<string, string>()
  for (const [role, found] of byRole) {
    const scope = decidingScope(candidates, found)
    if (scope !== undefined) deciders.set(role, scope)
  }
  const covering = entries.filter(e => rank(e) >= 0).sort((a, b) => a.role.localeCompare(b.role) || rank(a) - rank(b))
  return { covering, deciders }
}
