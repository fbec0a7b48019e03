// A project as a person names it in the console (its URL, or its path when the broker trusts one GitLab): its issuer
// and path, from which scope.ts's candidateScopes and the audit's byProject key follow.
import { isGitLabPath } from '../broker/claims'
import { candidateScopes } from '../broker/scope'

export interface ProjectRef {
  readonly issuer: string
  readonly path: string
  /** The project's URL: its own scope, and its key in the audit's byProject index. */
  readonly url: string
  /** Scopes that may hold a mapping for it, most specific first. */
  readonly candidates: string[]
}

/** The project, or why it cannot be one of the broker's (to show beside the field). */
export function parseProject (text: string, issuers: readonly string[]): ProjectRef | { problem: string } {
  const value = text.trim().replace(/\/+$/, '')
  if (value.includes('*')) return { problem: 'Name one project; for a group\'s mappings, search for the group\'s URL.' }
  let issuer: string | undefined
  let path: string
  if (/^https?:\/\//i.test(value)) {
    // The longest trusted issuer the URL begins with: https://host/gitlab before https://host.
    issuer = [...issuers].sort((a, b) => b.length - a.length).find(i => value.startsWith(`${i}/`))
    if (!issuer) return { problem: `${value} is on none of the GitLabs the broker trusts (${issuers.join(', ')}): no mapping can grant it anything.` }
    path = value.slice(issuer.length + 1)
  }
  else {
    if (issuers.length !== 1) return { problem: 'The broker trusts several GitLabs: give the project\'s URL (https://gitlab.example.com/group/project).' }
    issuer = issuers[0]
    path = value.replace(/^\/+/, '')
  }
  if (!isGitLabPath(path) || !path.includes('/')) return { problem: `"${text}" is not a GitLab project (group/project) on ${issuer}.` }
  return { issuer, path, url: `${issuer}/${path}`, candidates: candidateScopes(issuer, path) }
}
