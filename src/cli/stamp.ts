// Who and when, on every mapping the CLI writes: `updatedAt` (also the version a conditional write checks) and `updatedBy`.
// The conditional write itself is mappings.ts's (createMappingAdmin.put / delete).
import { userInfo } from 'node:os'
import { parseMapping } from '../broker/mapping'
import type { Mapping } from '../broker/mapping'
import type { StoredEntry } from '../broker/mappings'

/** --actor, else the GitLab user of a CI job (GITLAB_USER_LOGIN), else the OS user. */
export function resolveActor (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag
  if (env.GITLAB_USER_LOGIN) return env.GITLAB_USER_LOGIN
  try { return userInfo().username || 'unknown' }
  catch { return env.USER || env.USERNAME || 'unknown' }
}

/** The mapping as it will be stored, re-checked by the one parser (updatedBy has a length limit too). */
export function stamp (mapping: Mapping, actor: string, now: Date = new Date()): Mapping {
  return parseMapping({ ...mapping, updatedAt: now.toISOString(), updatedBy: actor })
}

/** What a conditional replace or delete of `stored` expects: the updatedAt it was read with (none, if it had none). */
export function expectedVersion (stored: StoredEntry): { updatedAt?: string } {
  const updatedAt = stored.item.updatedAt
  return typeof updatedAt === 'string' ? { updatedAt } : {}
}
