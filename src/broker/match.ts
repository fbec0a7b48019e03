// The matcher: a mapping's rules against a token's claims, and the broker's decision for a role. Pure: reading the
// table is mappings.ts's, and turning a denial into a response is respond.ts's.
import { claimValues } from './claims'
import { MappingInvalid } from './errors'
import type { Denial } from './errors'
import { patternMatcher } from './glob'
import type { Mapping } from './mapping'
import { decidingMapping, scopeCovers } from './scope'

/** One rule of a mapping, checked against a token: what `explain` prints and the audit records. */
export interface Check extends Denial {
  ok: boolean
}

interface Compiled { conditions: Array<[string, readonly string[], Array<(v: string) => boolean>]> }
const compiledCache = new WeakMap<Mapping, Compiled>()
function compiled (mapping: Mapping): Compiled {
  let c = compiledCache.get(mapping)
  if (!c) {
    c = { conditions: Object.entries(mapping.conditions).map(([claim, patterns]) => [claim, patterns, patterns.map(patternMatcher)]) }
    compiledCache.set(mapping, c)
  }
  return c
}

function show (value: unknown): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * Every rule of a mapping against the claims, in order: scope, enabled, pin, each condition (with the
 * secure default ref_protected = "true" when the mapping says nothing of it), token age. Pure.
 */
export function evaluateMapping (mapping: Mapping, claims: Readonly<Record<string, unknown>>, now: Date): Check[] {
  const checks: Check[] = []
  const issuer = typeof claims.iss === 'string' ? claims.iss : ''
  const projectPath = typeof claims.project_path === 'string' ? claims.project_path : ''
  checks.push({ condition: 'scope', expected: mapping.scope, actual: `${issuer}/${projectPath}`, ok: scopeCovers(mapping.scope, issuer, projectPath) })
  checks.push({ condition: 'enabled', expected: 'true', actual: String(mapping.enabled), ok: mapping.enabled })
  if (mapping.pin !== 'none') {
    const [claim, id] = Object.entries(mapping.pin)[0] as [string, string]
    checks.push({ condition: `pin.${claim}`, expected: id, actual: show(claims[claim]), ok: claims[claim] === id })
  }
  const conditions = compiled(mapping).conditions
  if (!('ref_protected' in mapping.conditions)) {
    checks.push({ condition: 'ref_protected', expected: ['true'], actual: show(claims.ref_protected), ok: claimValues(claims.ref_protected).includes('true') })
  }
  for (const [claim, patterns, matchers] of conditions) {
    const values = claimValues(claims[claim])
    const ok = values.some(v => matchers.some(m => m(v)))
    checks.push({ condition: claim, expected: [...patterns], actual: show(claims[claim]), ok })
  }
  if (mapping.maxTokenAge !== undefined) {
    const age = typeof claims.iat === 'number' ? Math.floor(now.getTime() / 1000) - claims.iat : Infinity
    checks.push({ condition: 'maxTokenAge', expected: `at most ${mapping.maxTokenAge}s old`, actual: `${age}s old`, ok: age <= mapping.maxTokenAge })
  }
  return checks
}

export type Verdict = { allow: true } | { allow: false; denial: Denial }

/** The broker's verdict for one mapping: allow, or the first rule that failed. */
export function matchMapping (mapping: Mapping, claims: Readonly<Record<string, unknown>>, now: Date): Verdict {
  const failed = evaluateMapping(mapping, claims, now).find(c => !c.ok)
  if (!failed) return { allow: true }
  const { ok: _ok, ...denial } = failed
  return { allow: false, denial }
}

export type Decision =
  | { readonly allow: true; readonly mapping: Mapping }
  | { readonly allow: false; readonly mapping?: Mapping; readonly invalid?: MappingInvalid; readonly denial: Denial }

/**
 * The broker's decision for a role, given what the table holds at each candidate scope (most specific first).
 * A broken mapping still decides (it grants nothing): a broader one never takes over. The CLI's `explain` calls this too.
 */
export function decide (candidates: readonly string[], found: ReadonlyMap<string, Mapping | MappingInvalid>,
  claims: Readonly<Record<string, unknown>>, now: Date): Decision {
  const stored = decidingMapping(candidates, found)
  if (stored === undefined) return { allow: false, denial: { condition: 'mapping', expected: [...candidates], actual: 'none' } }
  if (stored instanceof MappingInvalid) return { allow: false, invalid: stored, denial: { condition: 'mapping', expected: 'a valid mapping', actual: 'invalid' } }
  const verdict = matchMapping(stored, claims, now)
  return verdict.allow ? { allow: true, mapping: stored } : { allow: false, mapping: stored, denial: verdict.denial }
}
