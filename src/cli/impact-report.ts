// How `mappings apply --dry-run --impact` and `mappings plan --impact` print the impact of a plan: the flips by direction,
// project and role, each with a sample job, then what could not be replayed. Pure; the replay is impact.ts's.
import type { Impact, Verdict } from './impact'
import type { Paint } from './output'
import { readableTime } from './output'

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** One side of a flip in words: which scope allows, or which rule denies and why. */
export function describeVerdict (v: Verdict): string {
  if (v.allow) return `issued by ${v.scope}`
  const d = v.denial
  if (d.condition === 'mapping') return d.actual === 'invalid' ? 'denied: the deciding mapping is invalid' : 'denied: no mapping'
  const expected = d.expected === undefined ? '' : ` ${[d.expected].flat().map(e => JSON.stringify(e)).join(' or ')}`
  const actual = d.actual === undefined ? 'nothing' : JSON.stringify(d.actual)
  return `denied by ${v.scope ?? 'its mapping'}: ${d.condition} must be${expected}, the token had ${actual}`
}

/** `current`: what the plan starts from, in words (the table's mappings, or the --from files). */
export function renderImpact (impact: Impact, p: Paint, current = 'the stored mappings'): string[] {
  const flips = impact.flips['issued→denied'] + impact.flips['denied→issued']
  const lines = [
    '',
    p.bold(`Impact: ${plural(impact.records, 'request')} from ${readableTime(impact.since, 'minute')} to ${readableTime(impact.until, 'minute')} ` +
      `replayed against ${current} and the planned ones`),
    `  ${flips === 0 ? 'No decision flips' : `${plural(flips, 'decision')} would flip: ${impact.flips['issued→denied']} issued → denied, ` +
      `${impact.flips['denied→issued']} denied → issued`}; ${impact.unchanged} unchanged` +
      (impact.notReplayed.length ? `; ${impact.notReplayed.reduce((n, x) => n + x.count, 0)} could not be replayed` : '') + '.',
  ]
  for (const direction of ['issued→denied', 'denied→issued'] as const) {
    const groups = impact.groups.filter(g => g.direction === direction)
    if (groups.length === 0) continue
    lines.push('', (direction === 'issued→denied' ? p.red : p.green)(`${direction === 'issued→denied' ? 'Issued → denied' : 'Denied → issued'}:`))
    for (const g of groups) {
      const s = g.sample
      lines.push(`  ${g.project_path}  ${p.bold(g.role)}  ${plural(g.count, 'request')} (${plural(g.jobs, 'job')})`)
      lines.push(p.dim(`    e.g. job ${s.job_id} (pipeline ${s.pipeline_id}, ref ${s.ref}) at ${readableTime(s.at, 'minute')}, request ${s.requestId}`))
      lines.push(p.dim(`      now:      ${describeVerdict(s.now)}`))
      lines.push(p.dim(`      planned:  ${describeVerdict(s.planned)}`))
    }
  }
  if (impact.notReplayed.length > 0) {
    lines.push('', p.yellow('Not replayed (counted, never guessed):'))
    for (const x of impact.notReplayed) {
      lines.push(`  ${plural(x.count, 'request')}: ${x.why}`)
      lines.push(p.dim(`    ${x.where.map(w => `${w.project_path} ${w.role} (${w.count})`).join(', ')}`))
    }
  }
  return lines
}
