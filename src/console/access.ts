// Who may use the console: viewers and editors, named as GitLab group paths or user logins (CONSOLE_VIEWERS,
// CONSOLE_EDITORS); nobody by default. Signing in is sign-in.ts's; this file only decides a signed-in user's role.
import { isGitLabPath } from '../broker/claims'

export type ConsoleRole = 'viewer' | 'editor'

/** One variable's entries: `group:acme/security`, `user:ada.lovelace`. GitLab compares paths and logins without case. */
export interface Members {
  readonly groups: ReadonlySet<string>
  readonly users: ReadonlySet<string>
}

export interface Access {
  readonly viewers: Members
  readonly editors: Members
}

/** A GitLab username: letters, digits, `_`, `-` and `.` (it cannot start with `-`). */
const LOGIN = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}$/

/** Reads one variable; a TypeError names the variable and the entry to fix. */
export function parseMembers (name: string, text: string | undefined): Members {
  const groups = new Set<string>()
  const users = new Set<string>()
  for (const entry of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const [kind, value = ''] = entry.split(/:(.*)/s)
    if (kind === 'group' && isGitLabPath(value)) groups.add(value.toLowerCase())
    else if (kind === 'user' && LOGIN.test(value)) users.add(value.toLowerCase())
    else {
      throw new TypeError(`${name} has "${entry}": write each entry as group:GROUP/PATH or user:LOGIN (GitLab's full group path, or a username), ` +
      'separated by commas')
    }
  }
  return { groups, users }
}

export interface Member {
  readonly login: string
  /** The configured groups the user belonged to at sign-in (sign-in keeps only those: a session cookie is small). */
  readonly groups: readonly string[]
}

function isIn (member: Member, members: Members): boolean {
  return members.users.has(member.login.toLowerCase()) || member.groups.some(g => members.groups.has(g.toLowerCase()))
}

/** The user's role now: editor, viewer, or none (undefined). Read on every request, so a removed entry takes effect at once. */
export function roleOf (member: Member, access: Access): ConsoleRole | undefined {
  if (isIn(member, access.editors)) return 'editor'
  if (isIn(member, access.viewers)) return 'viewer'
  return undefined
}

/** Of a user's GitLab groups, those the configuration names: what a session keeps. */
export function configuredGroups (groups: readonly string[], access: Access): string[] {
  const named = new Set([...access.viewers.groups, ...access.editors.groups])
  return [...new Set(groups.map(g => g.toLowerCase()))].filter(g => named.has(g)).sort()
}
