// `mappings put` flags as the raw mapping object parseMapping checks, and its problems named by flag.
// Every rule is parseMapping's; this file only translates between flags and fields.
import { readFileSync } from 'node:fs'
import { MappingInvalid, PutFlagsInvalid } from '../broker/errors'
import { parseMapping } from '../broker/mapping'
import type { Mapping, Problem } from '../broker/mapping'

export interface PutFlags {
  scope?: string
  role?: string
  roleArn?: string
  pin?: string
  condition?: string[]
  maxDuration?: string
  maxUses?: string
  maxTokenAge?: string
  sessionPolicy?: string
  sessionTag?: string[]
  description?: string
  disabled?: boolean
}

const FLAG: Record<string, string> = {
  scope: '--scope', role: '--role', roleArn: '--role-arn', pin: '--pin', conditions: '--condition',
  maxDuration: '--max-duration', maxUses: '--max-uses', maxTokenAge: '--max-token-age', sessionPolicy: '--session-policy',
  sessionTags: '--session-tag', description: '--description', enabled: '--disabled',
}

/** `--condition ref`, `--max-duration`: the flag a problem's field path came from. */
export function flagFor (path: ReadonlyArray<string | number>): string {
  const [field, claim] = path
  const flag = FLAG[String(field)] ?? String(field)
  return field === 'conditions' && typeof claim === 'string' ? `${flag} ${claim}` : flag
}

/** A whole number stays a number; anything else goes through as text, for parseMapping to say what it must be. */
const integer = (text: string | undefined) => text === undefined ? undefined : /^\d+$/.test(text) ? Number(text) : text

function parsePin (text: string): unknown {
  if (text === 'none') return 'none'
  const m = /^(project_id|namespace_id)=(.*)$/.exec(text)
  return m ? { [m[1]]: m[2] } : text
}

/** Builds the mapping from flags and parses it; throws a list of `--flag: problem` lines when it does not parse. */
export function mappingFromFlags (flags: PutFlags, readFile: (path: string) => string = p => readFileSync(p, 'utf8')): Mapping {
  const problems: string[] = []
  // A Map, not an object: a claim is whatever the flag says (`__proto__`, `constructor`), for parseMapping to refuse by name.
  const conditions = new Map<string, string[]>()
  for (const c of flags.condition ?? []) {
    const eq = c.indexOf('=')
    if (eq <= 0) {
      problems.push(`--condition ${c}: write it as claim=pattern (e.g. ref=main; repeat the claim for a list)`)
      continue
    }
    const claim = c.slice(0, eq)
    conditions.set(claim, [...conditions.get(claim) ?? [], c.slice(eq + 1)])
  }
  let sessionPolicy: string | undefined
  if (flags.sessionPolicy !== undefined) {
    try { sessionPolicy = readFile(flags.sessionPolicy) }
    catch (e) { problems.push(`--session-policy: cannot read ${flags.sessionPolicy}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`) }
  }
  const raw: Record<string, unknown> = {
    scope: flags.scope,
    role: flags.role,
    roleArn: flags.roleArn,
    ...(flags.pin !== undefined && { pin: parsePin(flags.pin) }),
    // Object.fromEntries defines each claim as an own key, `__proto__` included.
    ...(conditions.size && { conditions: Object.fromEntries(conditions) }),
    ...(flags.maxDuration !== undefined && { maxDuration: integer(flags.maxDuration) }),
    ...(flags.maxUses !== undefined && { maxUses: integer(flags.maxUses) }),
    ...(flags.maxTokenAge !== undefined && { maxTokenAge: integer(flags.maxTokenAge) }),
    ...(sessionPolicy !== undefined && { sessionPolicy }),
    ...(flags.sessionTag?.length && { sessionTags: flags.sessionTag }),
    ...(flags.description !== undefined && { description: flags.description }),
    ...(flags.disabled && { enabled: false }),
  }
  let mapping: Mapping | undefined
  try { mapping = parseMapping(raw) }
  catch (e) {
    if (!(e instanceof MappingInvalid)) throw e
    for (const p of e.problems) problems.push(`${flagFor(p.path)}: ${pinMessage(p, flags.pin)}`)
  }
  if (problems.length || !mapping) throw new PutFlagsInvalid(problems)
  return mapping
}

/**
 * A mappingWarnings warning as `mappings put` prints it: named by its flag (`--pin`, `--condition ref`), and the
 * conditions it suggests written as flags (`--condition ref_type=branch`, not the file's `ref_type: branch`).
 */
export function flagWarning (w: Problem): string {
  const message = w.path[0] === 'conditions' ? w.message.replace(/`([a-z_]+): ([^`]+)`/g, '`--condition $1=$2`') : w.message
  return `${flagFor(w.path)}: ${message}`
}

/** parseMapping speaks of YAML (`{ project_id: "N" }`); on the command line the pin is written `project_id=N`. */
function pinMessage (p: Problem, flag: string | undefined): string {
  if (p.path[0] !== 'pin') return p.message
  if (flag === undefined) return 'is required: project_id=N for a project scope, namespace_id=N for a /* scope, or none (a /** scope must say none)'
  if (typeof parsePin(flag) === 'string' && flag !== 'none') return 'must be project_id=N, namespace_id=N or none'
  return p.message
}
