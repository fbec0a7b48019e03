// `mappings apply --dry-run --impact 30d`: the period's audit records replayed against the stored mappings and against the
// plan's, with the broker's own decide(); every decision that would flip, grouped by project and role. Pure: reading the
// records is audit-window.ts's, printing impact-report.ts's. A record that cannot answer for what a decision reads is
// counted as not replayed, never guessed. `mappings plan --impact` (between files) and the console's edit plan
// (console/pages/edit-impact.ts) replay with it too.
import type { AuditRecord } from '../broker/audit'
import { recordedClaims } from '../broker/audit-claims'
import type { Denial } from '../broker/errors'
import type { StoredEntry, StoredMapping } from '../broker/mappings'
import { decide } from '../broker/match'
import type { Decision } from '../broker/match'
import { candidateScopes } from '../broker/scope'
import type { AuditWindow } from './audit-window'
import type { Plan } from './plan'

/** Mappings by role, then scope: what `decide` is handed for a role (mappings.ts's find answers the same shape). */
export type MappingSet = ReadonlyMap<string, ReadonlyMap<string, StoredMapping>>

export type Direction = 'issued→denied' | 'denied→issued'

/** One side of a flip: allowed by a mapping's scope, or denied by a rule. */
export type Verdict = { readonly allow: true; readonly scope: string } | { readonly allow: false; readonly scope?: string; readonly denial: Denial }

export interface FlipGroup {
  readonly direction: Direction
  readonly project: string
  readonly project_path: string
  readonly role: string
  readonly count: number
  readonly jobs: number
  /** The newest record of the group, and its decision now and under the plan. */
  readonly sample: { readonly at: string; readonly requestId: string; readonly job_id: string; readonly pipeline_id: string; readonly ref: string
    readonly now: Verdict; readonly planned: Verdict }
}

export interface NotReplayed {
  /** Why, in words: what the record cannot answer for. */
  readonly why: string
  readonly count: number
  readonly where: ReadonlyArray<{ readonly project_path: string; readonly role: string; readonly count: number }>
}

export interface Impact {
  readonly since: string
  readonly until: string
  /** Issuance records (issued, denied, failed) in the period. */
  readonly records: number
  /** Records whose candidate mappings the plan changes, replayed both ways. */
  readonly replayed: number
  readonly unchanged: number
  readonly flips: { readonly 'issued→denied': number; readonly 'denied→issued': number }
  readonly groups: readonly FlipGroup[]
  readonly notReplayed: readonly NotReplayed[]
}

function addTo (set: Map<string, Map<string, StoredMapping>>, role: string, scope: string, mapping: StoredMapping | undefined): void {
  let scopes = set.get(role)
  if (!scopes) set.set(role, scopes = new Map())
  if (mapping === undefined) scopes.delete(scope)
  else scopes.set(scope, mapping)
}

/** The stored mappings, and the set the plan would leave: creates and updates written, deletes gone, the rest kept. */
export function mappingSets (stored: readonly StoredEntry[], plan: Plan): { current: MappingSet; planned: MappingSet } {
  const current = new Map<string, Map<string, StoredMapping>>()
  const planned = new Map<string, Map<string, StoredMapping>>()
  for (const entry of stored) {
    addTo(current, entry.role, entry.scope, entry.mapping)
    addTo(planned, entry.role, entry.scope, entry.mapping)
  }
  for (const step of plan.steps) {
    if (step.action === 'create' || step.action === 'update') addTo(planned, step.role, step.scope, step.mapping)
    if (step.action === 'delete') addTo(planned, step.role, step.scope, undefined)
  }
  return { current, planned }
}

const EMPTY: ReadonlyMap<string, StoredMapping> = new Map()

function verdict (decision: Decision): Verdict {
  if (decision.allow) return { allow: true, scope: decision.mapping.scope }
  return { allow: false, ...(decision.mapping && { scope: decision.mapping.scope }), denial: decision.denial }
}

type Replay =
  | { kind: 'skip' }
  | { kind: 'untouched' }
  | { kind: 'not-replayed'; why: string }
  | { kind: 'replayed'; now: Verdict; planned: Verdict }

/** One record, decided by the broker's decide() with both sets, as at the time it was made. */
export function replayRecord (record: AuditRecord, sets: { current: MappingSet; planned: MappingSet }): Replay {
  if (record.outcome !== 'issued' && record.outcome !== 'denied' && record.outcome !== 'failed') return { kind: 'skip' }
  const scopes = candidateScopes(record.issuer, record.project_path)
  const now = sets.current.get(record.role) ?? EMPTY
  const planned = sets.planned.get(record.role) ?? EMPTY
  // decide() reads only the candidate scopes' mappings: where the plan changes none of them, nothing can flip.
  if (scopes.every(scope => now.get(scope) === planned.get(scope))) return { kind: 'untouched' }
  if (record.condition === 'maxUses') return { kind: 'not-replayed', why: 'denied by maxUses: use counts depend on the token\'s earlier requests, which are not replayed' }
  const known = recordedClaims(record)
  // Every claim decide() reads is seen here: one the record cannot answer for makes the replay a guess, so it is not made.
  const unknown = new Set<string>()
  const watch = (claim: string | symbol) => { if (typeof claim === 'string' && known.unknown(claim)) unknown.add(claim) }
  const claims = new Proxy(known.claims, {
    get: (target, claim) => { watch(claim); return Reflect.get(target, claim) },
    has: (target, claim) => { watch(claim); return Reflect.has(target, claim) },
  })
  const at = new Date(record.at)
  const before = verdict(decide(scopes, now, claims, at))
  const after = verdict(decide(scopes, planned, claims, at))
  if (unknown.size > 0) {
    const names = [...unknown].sort().join(', ')
    return {
      kind: 'not-replayed',
      why: record.claims === undefined
        ? `made before the audit kept claims; the decision reads ${names}`
        : `the record withheld ${names} (personal: kept only when a mapping read for the request names it)`,
    }
  }
  return { kind: 'replayed', now: before, planned: after }
}

/** Replays every record of the period, and groups what flips by direction, project and role. */
export function computeImpact (records: readonly AuditRecord[], sets: { current: MappingSet; planned: MappingSet }, window: AuditWindow): Impact {
  let total = 0
  let replayed = 0
  let unchanged = 0
  const groups = new Map<string, { group: Omit<FlipGroup, 'jobs'>; jobs: Set<string> }>()
  const skipped = new Map<string, { count: number; where: Map<string, { project_path: string; role: string; count: number }> }>()
  for (const record of records) {
    const replay = replayRecord(record, sets)
    if (replay.kind === 'skip') continue
    total++
    if (replay.kind === 'untouched') { unchanged++; continue }
    if (replay.kind === 'not-replayed') {
      const entry = skipped.get(replay.why) ?? { count: 0, where: new Map() }
      entry.count++
      const place = `${record.project_path}\n${record.role}`
      const at = entry.where.get(place) ?? { project_path: record.project_path, role: record.role, count: 0 }
      at.count++
      entry.where.set(place, at)
      skipped.set(replay.why, entry)
      continue
    }
    replayed++
    if (replay.now.allow === replay.planned.allow) { unchanged++; continue }
    const direction: Direction = replay.now.allow ? 'issued→denied' : 'denied→issued'
    const key = JSON.stringify([direction, record.project, record.role])
    const seen = groups.get(key)
    const sample = { at: record.at, requestId: record.requestId, job_id: record.job_id, pipeline_id: record.pipeline_id, ref: record.ref, now: replay.now, planned: replay.planned }
    const newest = !seen || record.at >= seen.group.sample.at
    groups.set(key, {
      group: { direction, project: record.project, project_path: record.project_path, role: record.role, count: (seen?.group.count ?? 0) + 1, sample: newest ? sample : seen.group.sample },
      jobs: (seen?.jobs ?? new Set()).add(record.job_id),
    })
  }
  const flipGroups = [...groups.values()].map(({ group, jobs }) => ({ ...group, jobs: jobs.size }))
    .sort((a, b) => a.direction.localeCompare(b.direction) || b.count - a.count || a.project.localeCompare(b.project) || a.role.localeCompare(b.role))
  const count = (direction: Direction) => flipGroups.filter(g => g.direction === direction).reduce((n, g) => n + g.count, 0)
  return {
    since: window.since,
    until: window.until,
    records: total,
    replayed,
    unchanged,
    flips: { 'issued→denied': count('issued→denied'), 'denied→issued': count('denied→issued') },
    groups: flipGroups,
    notReplayed: [...skipped].map(([why, e]) => ({ why, count: e.count, where: [...e.where.values()].sort((a, b) => b.count - a.count) }))
      .sort((a, b) => b.count - a.count),
  }
}
