// `@tanuki-sts target-roles` in ./app.arc: the IAM patterns of the roles a deployed broker may assume (the deploy
// plugin grants exactly these). A mapping whose roleArn none of them matches can never issue in AWS: STS refuses the
// broker, and every request it decides answers 502. put and apply warn of it for a deployed target.
import { readArc } from './app-arc'
import type { ArcRow } from './app-arc'

/** The target-roles row of app.arc's @tanuki-sts section, as the project writes it (one line); undefined when absent. */
export function readTargetRoles (cwd = process.cwd()): string[] | undefined {
  const row = readArc(cwd)?.['tanuki-sts']?.find((r): r is ArcRow[] => Array.isArray(r) && r[0] === 'target-roles')
  return row ? row.slice(1).map(String) : undefined
}

/** IAM's Resource matching: `*` any run of characters (`/` included), `?` any one; case-sensitive. */
function iamPattern (pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
}

/** Why a deployed broker could never assume this role, or undefined (also when app.arc names no target roles). */
export function uncoveredRoleArn (roleArn: string, targetRoles: readonly string[] | undefined): string | undefined {
  if (!targetRoles || targetRoles.length === 0 || targetRoles.some(p => iamPattern(p).test(roleArn))) return undefined
  return `${roleArn} matches none of app.arc's @tanuki-sts target-roles (${targetRoles.join(' ')}): the deployed broker may not ` +
    'assume it, so every request this mapping allows would fail (502 upstream_error). Add a pattern that covers it and deploy, or use a role that one covers'
}
