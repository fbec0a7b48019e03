// IAM policy documents as the docs ship them (docs/policies/*.json): their grammar, and the part of IAM's evaluation
// the checks need: explicit Deny wins, then any Allow whose action, resource and conditions all match, else no.
// A test oracle, not a model of IAM: an operator it does not know is an error, never a silent match.

export interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action: string | string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, string | string[]>>
}
export interface PolicyDocument { Version?: string; Statement: Statement[] }

/** One call as IAM authorizes it: an action on a resource ARN, with the request's condition keys. */
export interface Call { action: string; resource: string; context?: Record<string, string> }

export type Decision = 'allowed' | 'denied' | 'not allowed'

/** The keys of an identity policy's statement; a Principal, NotAction or NotResource does not belong in one here. */
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'Resource', 'Condition'])
const ACTION = /^[a-z0-9-]+:[A-Za-z0-9*?]+$/
const ARN = /^arn:aws:[a-z0-9-]+:[a-z0-9-*]*:(?:\d{12}|aws|\*)?:.+$/
const OPERATORS = new Set(['StringEquals', 'StringLike'])

/** Every way `doc` breaks the grammar of an identity policy (IAM's JSON policy reference), as sentences; none when it is sound. */
export function grammarProblems (doc: unknown): string[] {
  const problems: string[] = []
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return ['the document is not a JSON object']
  const { Version, Statement: statements, ...rest } = doc as Record<string, unknown>
  if (Version !== '2012-10-17') problems.push(`Version is ${JSON.stringify(Version)}, not "2012-10-17"`)
  if (Object.keys(rest).length > 0) problems.push(`unknown top-level keys: ${Object.keys(rest).join(', ')}`)
  if (!Array.isArray(statements) || statements.length === 0) return [...problems, 'Statement is not a non-empty array']
  const sids = new Set<string>()
  statements.forEach((s: unknown, i) => {
    const at = `Statement[${i}]`
    if (typeof s !== 'object' || s === null || Array.isArray(s)) { problems.push(`${at} is not an object`); return }
    const st = s as Record<string, unknown>
    for (const key of Object.keys(st)) if (!STATEMENT_KEYS.has(key)) problems.push(`${at} has ${key}, which an identity policy does not take`)
    if (st.Sid !== undefined) {
      if (typeof st.Sid !== 'string' || !/^[A-Za-z0-9]+$/.test(st.Sid)) problems.push(`${at}.Sid must be letters and digits`)
      else if (sids.has(st.Sid)) problems.push(`${at}.Sid ${st.Sid} is used twice`)
      else sids.add(st.Sid)
    }
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') problems.push(`${at}.Effect is ${JSON.stringify(st.Effect)}, not Allow or Deny`)
    const list = (name: string, valid: (v: string) => boolean) => {
      const v = st[name]
      const items = typeof v === 'string' ? [v] : Array.isArray(v) && v.length > 0 ? v : undefined
      if (!items) { problems.push(`${at}.${name} is not a string or a non-empty array`); return }
      for (const item of items) if (typeof item !== 'string' || !valid(item)) problems.push(`${at}.${name} has ${JSON.stringify(item)}`)
      if (new Set(items).size !== items.length) problems.push(`${at}.${name} repeats an entry`)
    }
    list('Action', a => ACTION.test(a))
    list('Resource', r => r === '*' || ARN.test(r))
    if (st.Condition !== undefined) {
      if (typeof st.Condition !== 'object' || st.Condition === null) problems.push(`${at}.Condition is not an object`)
      else for (const op of Object.keys(st.Condition)) if (!OPERATORS.has(op)) problems.push(`${at}.Condition uses ${op}, which these checks do not evaluate`)
    }
  })
  return problems
}

/** IAM's wildcards: `*` any run of characters, `?` any one; case-insensitive for actions, exact for ARNs. */
function wildcard (pattern: string, flags = ''): RegExp {
  return new RegExp(`^${pattern.split('').map(c => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')).join('')}$`, flags)
}

/** ARNs match segment by segment (a wildcard stays in its segment); the resource part, after the fifth colon, as a whole. */
export function arnMatches (pattern: string, arn: string): boolean {
  if (pattern === '*') return true
  const split = (s: string) => { const parts = s.split(':'); return [...parts.slice(0, 5), parts.slice(5).join(':')] }
  const p = split(pattern)
  const a = split(arn)
  return p.length === 6 && a.length === 6 && p.every((seg, i) => wildcard(seg).test(a[i]))
}

function conditionsHold (condition: Statement['Condition'], context: Record<string, string>): boolean {
  for (const [op, keys] of Object.entries(condition ?? {})) {
    if (!OPERATORS.has(op)) throw new Error(`condition operator ${op} is not evaluated by these checks`)
    for (const [key, expected] of Object.entries(keys)) {
      const actual = context[key]
      if (actual === undefined) return false
      const ok = [expected].flat().some(e => op === 'StringEquals' ? e === actual : wildcard(e).test(actual))
      if (!ok) return false
    }
  }
  return true
}

function applies (s: Statement, call: Call): boolean {
  return [s.Action].flat().some(a => wildcard(a, 'i').test(call.action)) &&
    [s.Resource].flat().some(r => arnMatches(r, call.resource)) &&
    conditionsHold(s.Condition, call.context ?? {})
}

/** What `docs` (every policy that applies to the caller) decide about `call`. */
export function decide (docs: readonly PolicyDocument[], call: Call): Decision {
  const statements = docs.flatMap(d => d.Statement)
  if (statements.some(s => s.Effect === 'Deny' && applies(s, call))) return 'denied'
  return statements.some(s => s.Effect === 'Allow' && applies(s, call)) ? 'allowed' : 'not allowed'
}

/** The size IAM counts against its quotas: the document without whitespace outside strings. */
export function policySize (doc: unknown): number {
  return JSON.stringify(doc).length
}
