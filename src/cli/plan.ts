// The plan of `mappings apply`: what the files want against what the table holds, field by field, printed like terraform.
// Pure: reading the table and writing the plan's steps are apply.ts's.
import { MappingInvalid } from '../broker/errors'
import type { StoredEntry } from '../broker/mappings'
import type { Mapping } from '../broker/mapping'
import { FILE_FIELDS, MANAGED_FIELDS } from '../broker/mapping-fields'
import type { Paint } from './output'

export interface Change {
  readonly field: string
  readonly old?: unknown
  readonly new?: unknown
}

export type PlanStep =
  | { readonly action: 'create'; readonly scope: string; readonly role: string; readonly mapping: Mapping; readonly changes: Change[] }
  | { readonly action: 'update'; readonly scope: string; readonly role: string; readonly mapping: Mapping; readonly stored: StoredEntry; readonly changes: Change[] }
  | { readonly action: 'delete'; readonly scope: string; readonly role: string; readonly stored: StoredEntry }
  | { readonly action: 'unchanged'; readonly scope: string; readonly role: string; readonly mapping: Mapping; readonly stored: StoredEntry }

export interface Plan {
  readonly steps: PlanStep[]
  readonly counts: { create: number; update: number; delete: number; unchanged: number }
  /** Stored mappings the files do not mention, kept because --prune was not given: still granting, so named. */
  readonly kept: ReadonlyArray<{ readonly scope: string; readonly role: string }>
}

/** The fields in the order DESIGN §4 lists them; the managed ones (updatedAt, updatedBy) say who wrote last, not what a mapping does. */
const FIELDS: readonly string[] = FILE_FIELDS
const IGNORED: ReadonlySet<string> = new Set(MANAGED_FIELDS)

/** JSON with object keys sorted, so equal values print equal. */
export function canonical (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
    : v)
}

/** A session policy compares as the JSON it holds, not as text: reformatting it is not a change. */
function policyValue (value: unknown): unknown {
  if (typeof value !== 'string') return value
  try { return JSON.parse(value) as unknown }
  catch { return value }
}

/** A mapping (or a stored item) as flat comparable fields: `conditions.<claim>` one by one, the rest whole. */
export function fieldsOf (source: Readonly<Record<string, unknown>>): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const field of FIELDS) {
    const value = source[field]
    if (value === undefined) continue
    if (field === 'conditions' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const claim of Object.keys(value).sort()) out.set(`conditions.${claim}`, (value as Record<string, unknown>)[claim])
    }
    else out.set(field, field === 'sessionPolicy' ? policyValue(value) : value)
  }
  // A stored item without `enabled` is enabled (parseMapping's default).
  if (source.enabled === undefined) out.set('enabled', true)
  for (const [field, value] of Object.entries(source)) {
    // An invalid stored item may hold fields no mapping has: they show, so the update visibly drops them.
    if (!FIELDS.includes(field) && !IGNORED.has(field) && value !== undefined) out.set(field, value)
  }
  return out
}

/** Changes in the order of FIELDS (conditions by claim name), whatever side they came from. */
function fieldOrder (field: string): [number, string] {
  const top = field.split('.')[0]
  const at = FIELDS.indexOf(top)
  return [at === -1 ? FIELDS.length : at, field]
}

/** What changes from `old` to `next`, ignoring who wrote it and when. */
export function diffFields (old: Readonly<Record<string, unknown>>, next: Readonly<Record<string, unknown>>): Change[] {
  const a = fieldsOf(old)
  const b = fieldsOf(next)
  const changes: Change[] = []
  for (const field of new Set([...a.keys(), ...b.keys()])) {
    const before = a.get(field)
    const after = b.get(field)
    if (canonical(before) === canonical(after)) continue
    changes.push({ field, ...(before !== undefined && { old: before }), ...(after !== undefined && { new: after }) })
  }
  return changes.sort((x, y) => {
    const [a1, a2] = fieldOrder(x.field)
    const [b1, b2] = fieldOrder(y.field)
    return a1 - b1 || a2.localeCompare(b2)
  })
}

/** The stored side of a diff: the parsed mapping when it parses, else the item as stored. */
function storedFields (stored: StoredEntry): Readonly<Record<string, unknown>> {
  return stored.mapping instanceof MappingInvalid ? stored.item : stored.mapping as unknown as Record<string, unknown>
}

const key = (scope: string, role: string) => `${scope}\n${role}`
const byKey = (a: { scope: string; role: string }, b: { scope: string; role: string }) => a.scope.localeCompare(b.scope) || a.role.localeCompare(b.role)

export function computePlan (desired: readonly Mapping[], stored: readonly StoredEntry[], options: { prune: boolean }): Plan {
  const current = new Map(stored.map(s => [key(s.scope, s.role), s]))
  const wanted = new Set(desired.map(m => key(m.scope, m.role)))
  const steps: PlanStep[] = []
  for (const mapping of [...desired].sort(byKey)) {
    const { scope, role } = mapping
    const have = current.get(key(scope, role))
    const asRecord = mapping as unknown as Record<string, unknown>
    if (!have) {
      steps.push({ action: 'create', scope, role, mapping, changes: [...fieldsOf(asRecord)].map(([field, value]) => ({ field, new: value })) })
      continue
    }
    const changes = diffFields(storedFields(have), asRecord)
    // An invalid stored item is always rewritten, even if its fields happen to compare equal.
    if (changes.length === 0 && !(have.mapping instanceof MappingInvalid)) steps.push({ action: 'unchanged', scope, role, mapping, stored: have })
    else steps.push({ action: 'update', scope, role, mapping, stored: have, changes })
  }
  const extra = [...stored].filter(s => !wanted.has(key(s.scope, s.role))).sort(byKey)
  if (options.prune) for (const s of extra) steps.push({ action: 'delete', scope: s.scope, role: s.role, stored: s })
  const counts = { create: 0, update: 0, delete: 0, unchanged: 0 }
  for (const step of steps) counts[step.action]++
  return { steps, counts, kept: options.prune ? [] : extra.map(s => ({ scope: s.scope, role: s.role })) }
}

export function planSummary (plan: Plan): string {
  const c = plan.counts
  return `Plan: ${c.create} to create, ${c.update} to update, ${c.delete} to delete, ${c.unchanged} unchanged.`
}

export const hasChanges = (plan: Plan) => plan.counts.create + plan.counts.update + plan.counts.delete > 0

const show = (value: unknown) => JSON.stringify(value)

/** The plan as terraform prints one: `+ create`, `~ update` with `- old` / `+ new` lines, `- delete`, then the summary. */
export function renderPlan (plan: Plan, p: Paint, options: { showUnchanged?: boolean; summary?: boolean } = {}): string[] {
  const lines: string[] = []
  for (const step of plan.steps) {
    const what = `${step.scope}  ${p.bold(step.role)}`
    switch (step.action) {
      case 'create':
        lines.push(p.green(`+ create  `) + what)
        for (const c of step.changes) {
          // The key is on the header line; enabled: true is every mapping's default.
          if (c.field !== 'scope' && c.field !== 'role' && !(c.field === 'enabled' && c.new === true)) lines.push(p.green(`    + ${c.field}: ${show(c.new)}`))
        }
        break
      case 'update':
        lines.push(p.yellow(`~ update  `) + what + (step.stored.mapping instanceof MappingInvalid ? p.dim('  (stored mapping is invalid)') : ''))
        for (const c of step.changes) {
          if (c.old !== undefined) lines.push(p.red(`    - ${c.field}: ${show(c.old)}`))
          if (c.new !== undefined) lines.push(p.green(`    + ${c.field}: ${show(c.new)}`))
        }
        break
      case 'delete': {
        // What is about to stop granting: the role it gave, not just its key.
        const arn = typeof step.stored.item.roleArn === 'string' ? `  (${step.stored.item.roleArn})` : ''
        lines.push(p.red(`- delete  `) + what + p.dim(arn))
        break
      }
      case 'unchanged':
        if (options.showUnchanged) lines.push(p.dim(`  unchanged  ${step.scope}  ${step.role}`))
        break
    }
  }
  if (options.summary === false) return lines
  if (lines.length) lines.push('')
  lines.push(p.bold(planSummary(plan)))
  if (plan.kept.length > 0) {
    lines.push(p.dim(`${plan.kept.length} stored mapping(s) not in the file(s) kept, and still granting (--prune deletes them):`))
    for (const k of plan.kept) lines.push(p.dim(`  = kept    ${k.scope}  ${k.role}`))
  }
  return lines
}

/** The plan for --json: every step with its key and changes. */
export function planJson (plan: Plan): Record<string, unknown> {
  return {
    steps: plan.steps.map(s => ({
      action: s.action, scope: s.scope, role: s.role,
      ...((s.action === 'create' || s.action === 'update') && { changes: s.changes }),
    })),
    summary: { ...plan.counts, kept: plan.kept.length },
    kept: plan.kept,
  }
}
