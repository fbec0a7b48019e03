// What an audit record keeps of a token's claims, so that its decision can be replayed against other mappings later
// (`tanuki-sts mappings apply --impact`), and which claims a record can answer for. Writing the record is exchange.ts's
// and audit.ts's; replaying it is the CLI's (cli/impact.ts), with the broker's own decide().
import { KNOWN_CLAIMS } from './claims'
import type { GitLabClaims } from './claims'
import type { StoredMapping } from './mappings'

/** Claims the record holds as fields of its own (AuditRecord): `iss` as `issuer`, the others by their names. */
export const RECORD_FIELD_CLAIMS: Readonly<Record<string, string>> = {
  iss: 'issuer', project_path: 'project_path', project_id: 'project_id', namespace_path: 'namespace_path', ref: 'ref',
  ref_type: 'ref_type', ref_protected: 'ref_protected', pipeline_id: 'pipeline_id', job_id: 'job_id', jti: 'jti',
  user_login: 'user_login', environment: 'environment',
}

/**
 * Personal data beyond the `user_login` every record names: kept only when a mapping the broker read for the request
 * names the claim in a condition, since only then can a decision depend on it. A replay that needs one a record
 * withheld cannot be made, and says so.
 */
export const PERSONAL_CLAIMS: readonly string[] = ['user_email', 'user_identities']

/**
 * The claims in `claims` (the record field): every claim a condition may name that the record does not hold as a field
 * of its own, and `iat` (maxTokenAge is checked against it). `aud` and `sub` included; never a signature or the token.
 */
const KEPT: readonly string[] = [...KNOWN_CLAIMS.filter(c => !(c in RECORD_FIELD_CLAIMS) && !PERSONAL_CLAIMS.includes(c)), 'iat']

export interface KeptClaims {
  readonly claims: Readonly<Record<string, unknown>>
  /** Personal claims the token carried and the record leaves out. */
  readonly withheld?: readonly string[]
}

/** The personal claims that valid mappings among `found` name in a condition. */
export function namedPersonalClaims (found: Iterable<StoredMapping>): ReadonlySet<string> {
  const named = new Set<string>()
  for (const mapping of found) {
    if (!('conditions' in mapping)) continue
    for (const claim of PERSONAL_CLAIMS) if (claim in mapping.conditions) named.add(claim)
  }
  return named
}

/**
 * A claim's value as DynamoDB can store it: a number past 2^53 (which the SDK's marshall refuses, failing the write) as
 * its decimal text, which a condition compares the same way (claims.ts's claimValues), at any depth.
 */
export function storable (value: unknown): unknown {
  // (JSON has no Infinity or NaN; a condition compares neither, as null compares nothing.)
  if (typeof value === 'number') return !Number.isFinite(value) ? null : Math.abs(value) <= Number.MAX_SAFE_INTEGER ? value : String(value)
  if (Array.isArray(value)) return value.map(storable)
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storable(v)]))
  return value
}

/** What the record keeps of the token's claims: KEPT, and the personal claims `named` (namedPersonalClaims). */
export function keptClaims (token: GitLabClaims, named: ReadonlySet<string>): KeptClaims {
  const claims: Record<string, unknown> = {}
  for (const claim of KEPT) if (token[claim] !== undefined) claims[claim] = storable(token[claim])
  let withheld: string[] | undefined
  for (const claim of PERSONAL_CLAIMS) {
    if (token[claim] === undefined) continue
    if (named.has(claim)) claims[claim] = storable(token[claim])
    else (withheld ??= []).push(claim)
  }
  return withheld ? { claims, withheld } : { claims }
}

/** A record's claims, as far as it knows them: `unknown(claim)` says the record cannot tell the claim's value (or absence). */
export interface RecordedClaims {
  readonly claims: Readonly<Record<string, unknown>>
  unknown (claim: string): boolean
}

/**
 * The claims of the token a record was made for. A record made before the broker kept claims (no `claims` field) knows
 * only its own fields; a newer one knows every claim but those it withheld (absent there means absent in the token).
 */
export function recordedClaims (stored: object): RecordedClaims {
  const record = stored as Readonly<Record<string, unknown>>
  const claims: Record<string, unknown> = {}
  for (const [claim, field] of Object.entries(RECORD_FIELD_CLAIMS)) if (record[field] !== undefined) claims[claim] = record[field]
  const kept = record.claims
  if (typeof kept !== 'object' || kept === null || Array.isArray(kept)) {
    return { claims, unknown: claim => !(claim in RECORD_FIELD_CLAIMS) }
  }
  Object.assign(claims, kept)
  const withheld = new Set(Array.isArray(record.withheld) ? record.withheld.filter((c): c is string => typeof c === 'string') : [])
  return { claims, unknown: claim => withheld.has(claim) }
}
