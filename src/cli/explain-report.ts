// How `explain` prints: the claims, each candidate scope most specific first with every rule ✓/✗, then the verdict.
// What the rules say is match.ts's; the explanation is built in explain.ts.
import type { Denial } from '../broker/errors'
import type { Explanation } from './explain'
import { out } from './output'

/** A claim or pattern as explain shows it: quoted, a list joined with "or", nothing when absent. */
export function valueText (v: unknown): string {
  if (v === undefined) return 'nothing'
  if (Array.isArray(v)) return v.map(x => JSON.stringify(x)).join(' or ')
  return JSON.stringify(v)
}

/** A denial in words, as the verdict line says it (the console shows the same). */
export function denialText (d: Denial): string {
  if (d.condition === 'mapping' && d.actual === 'none') return 'no mapping for this role at any candidate scope'
  if (d.condition === 'mapping') return 'the deciding mapping is invalid, so it grants nothing (no fallback to a broader scope)'
  if (d.condition === 'maxUses') return `this token has used up the role (maxUses ${String(d.expected).replace('at most ', '')})`
  return `${d.condition} must be ${valueText(d.expected)}; the token has ${valueText(d.actual)}`
}

export function renderExplanation (e: Explanation): string[] {
  const p = out
  const c = e.claims
  const lines = [
    `${c.verified ? p.green('Token verified') : p.yellow('Claims taken as given, not verified')}: ` +
      `issuer ${String(c.iss)}, project ${String(c.project_path)} (id ${String(c.project_id)}), ref ${String(c.ref)}` +
      ` (${c.ref_protected === 'true' ? 'protected' : 'not protected'})`,
    `Role ${p.bold(JSON.stringify(e.role))} in ${e.target}: candidate scopes, most specific first:`,
    '',
  ]
  let decided = false
  e.candidates.forEach((cand, i) => {
    const head = `${i + 1}. ${cand.scope}`
    if (cand.status === 'none') {
      lines.push(`${head}  ${p.dim('(no mapping)')}`)
      return
    }
    const tag = cand.decides ? p.bold('  ← decides') : p.dim('  (not consulted: a more specific scope decides)')
    const dim = (s: string) => decided ? p.dim(s) : s
    if (cand.status === 'invalid') {
      lines.push(`${head}  ${p.red('invalid mapping')}${tag}`)
      for (const problem of cand.problems) lines.push(dim(`     ✗ ${problem.path ? problem.path + ': ' : ''}${problem.message}`))
    }
    else {
      lines.push(`${head}  → ${cand.mapping.roleArn}${tag}`)
      const width = Math.max(...cand.checks.map(k => k.condition.length))
      for (const k of cand.checks) {
        const mark = k.ok ? p.green('✓') : p.red('✗')
        const defaulted = k.condition === 'ref_protected' && !('ref_protected' in cand.mapping.conditions) ? ' (default)' : ''
        lines.push(dim(`     ${mark} ${k.condition.padEnd(width)}  expected ${valueText(k.expected)}${defaulted}, actual ${valueText(k.actual)}`))
      }
    }
    if (cand.decides) decided = true
  })
  lines.push('')
  if (e.mappedElsewhere) {
    lines.push(e.mappedElsewhere.length === 0
      ? `The role ${JSON.stringify(e.role)} is not mapped anywhere in ${e.target}.`
      : `The role ${JSON.stringify(e.role)} is mapped only at scopes that do not cover this project (a /* scope covers the projects directly in ` +
        'its group, a /** scope every project below it, on the same issuer URL):')
    for (const scope of e.mappedElsewhere) lines.push(`   ${scope}`)
  }
  if (e.maxUses) lines.push(`maxUses: ${e.maxUses.note}`)
  else if (e.verdict.allow) lines.push(p.dim('maxUses: none on the deciding mapping.'))
  const v = e.verdict
  lines.push(v.allow
    ? p.green(p.bold('Verdict: ALLOWED (200)')) + ` by ${v.scope}`
    : p.red(p.bold(`Verdict: DENIED (${v.status} ${v.code})`)) + (v.denial ? `: ${denialText(v.denial)}` : ''))
  if (!v.allow && v.message) lines.push(`The broker's answer would say: ${v.message}`)
  lines.push(p.dim('Nothing was issued or written.'))
  return lines
}
