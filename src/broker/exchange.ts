// The request path of DESIGN §1, top to bottom: verify, find the mapping, match, reserve + audit, AssumeRole, publish.
// Parsing the HTTP request and shaping the answer are request.ts's and respond.ts's.
import { randomUUID } from 'node:crypto'
import type { AuditRecord, AuditStore } from './audit'
import { refuseOwn } from './audit'
import { keptClaims, namedPersonalClaims } from './audit-claims'
import type { KeptClaims } from './audit-claims'
import { projectUrl } from './claims'
import type { GitLabClaims } from './claims'
import type { Config } from './config'
import { AccessDenied, BrokerError, UsesExhausted } from './errors'
import type { Denial } from './errors'
import type { Logger } from './log'
import { errorFields } from './log'
import { denialMessage, failingRules } from './denial-message'
import type { MappedRoles } from './mapped-roles'
import type { Mapping } from './mapping'
import { decide } from './match'
import { DEFAULT_SESSION_TAGS } from './role'
import type { Issued } from './respond'
import { sessionName, sessionTags, sourceIdentity } from './sts'
import type { StsPort } from './sts'
import { LEEWAY_SECONDS } from './token'
import type { VerifiedToken } from './token'
import type { VerifyAndFind } from './verify-and-find'

export interface ExchangeRequest {
  readonly token: string
  readonly role: string
  readonly duration?: number
  readonly requestId: string
}

/** What the `credentials-issued` event carries: the audit record's key and fields, plus what STS answered. No secrets. */
export interface IssuedEvent extends AuditRecord {
  readonly accessKeyId: string
  readonly expiration: string
  readonly assumedRoleArn: string
}

export interface ExchangeDeps {
  readonly config: Pick<Config, 'maxDuration' | 'auditRetentionDays'>
  /** Verifies the token and reads the mappings for its candidate scopes (verify-and-find.ts). */
  readonly verifyAndFind: VerifyAndFind
  /** The roles mapped for a project: read only to word a "no mapping" denial. */
  readonly mappedRoles: MappedRoles
  readonly audit: AuditStore
  readonly sts: StsPort
  readonly publish: (event: IssuedEvent) => Promise<void>
  readonly log: Logger
  readonly now?: () => Date
}

export type Exchange = (request: ExchangeRequest) => Promise<Issued>

/** The session length: the request's, clamped by the mapping's and the broker's ceilings. */
export function sessionDuration (requested: number | undefined, mapping: Pick<Mapping, 'maxDuration'>, ceiling: number): number {
  const max = Math.min(mapping.maxDuration ?? ceiling, ceiling)
  return Math.min(requested ?? max, max)
}

/** What an outcome adds to an audit record: issued (the mapping, session and duration) or denied (why). */
export type OutcomeFields = Pick<AuditRecord, 'outcome'> &
  Partial<Pick<AuditRecord, 'reason' | 'condition' | 'scope' | 'roleArn' | 'issuanceId' | 'sessionName' | 'durationSeconds' | 'sourceIdentity'>>

/**
 * One audit record (without its sort key, which the store chooses): who asked, with which token, and the outcome.
 * Written as one literal with the outcome spread in last, never as `{ ...record, more }`: V8 copies a spread into a
 * literal quickly but adds properties after one slowly (~19 µs for this record; bench/issuance.ts's broker_cpu_us).
 */
function auditRecord (token: VerifiedToken, request: ExchangeRequest, now: Date, retentionDays: number, kept: KeptClaims,
  outcome: OutcomeFields): Omit<AuditRecord, 'sk'> {
  const c: GitLabClaims = token.claims
  return {
    pk: `token#${token.sha256}`,
    at: now.toISOString(),
    requestId: request.requestId,
    issuer: c.iss,
    project: projectUrl(c),
    project_path: c.project_path,
    project_id: c.project_id,
    namespace_path: c.namespace_path,
    ref: c.ref,
    ref_type: c.ref_type,
    ref_protected: c.ref_protected,
    pipeline_id: c.pipeline_id,
    job_id: c.job_id,
    ...(c.user_login !== undefined && { user_login: c.user_login }),
    ...(typeof c.environment === 'string' && { environment: c.environment }),
    role: request.role,
    token_sha256: token.sha256,
    jti: c.jti,
    // The record outlives the token: it must, since the use counter lives in it while the verifier still accepts the
    // token, which is until exp plus the clock-skew leeway.
    expiresAt: Math.max(Math.floor(now.getTime() / 1000) + retentionDays * 86400, c.exp + LEEWAY_SECONDS),
    ...kept,
    ...outcome,
  }
}

export function createExchange (deps: ExchangeDeps): Exchange {
  const now = deps.now ?? (() => new Date())

  return async function exchange (request) {
    const at = now()
    const { token, scopes, found } = await deps.verifyAndFind(request.token, request.role, at)
    const claims = token.claims
    // The claims a later replay of this decision needs (audit-claims.ts): personal ones only if a mapping read here names them.
    const kept = keptClaims(claims, namedPersonalClaims(found.values()))
    const record = (outcome: OutcomeFields) => auditRecord(token, request, at, deps.config.auditRetentionDays, kept, outcome)
    const project = projectUrl(claims)

    const deny = async (mapping: Mapping | undefined, denial: Denial): Promise<never> => {
      const others = mapping && denial.condition !== 'maxUses' ? failingRules(mapping, claims, at) - 1 : 0
      // No mapping for the role: the roles this project has, read now and only now. A hint: unreadable, it is left out.
      const roles = !mapping && denial.actual === 'none'
        ? await deps.mappedRoles(scopes).catch(err => {
          deps.log('warn', 'could not read the project\'s roles for a denial message', { requestId: request.requestId, ...errorFields(err) })
          return []
        })
        : []
      const reason = denialMessage(request.role, project, mapping, denial, others, roles)
      await deps.audit.recordDenial(record({
        outcome: 'denied', reason, condition: denial.condition,
        ...(mapping && { scope: mapping.scope, roleArn: mapping.roleArn }),
      }))
      deps.log('info', 'credentials denied', { requestId: request.requestId, project, role: request.role, job_id: claims.job_id, ...denial })
      throw new AccessDenied(reason, denial)
    }

    const decision = decide(scopes, found, claims, at)
    if (!decision.allow) {
      if (decision.invalid) {
        deps.log('error', 'mapping does not parse; denying', { requestId: request.requestId, scopes, role: request.role, problems: decision.invalid.problems })
      }
      return deny(decision.mapping, decision.denial)
    }
    const mapping = decision.mapping

    const input = {
      roleArn: mapping.roleArn,
      sessionName: sessionName(claims),
      sourceIdentity: sourceIdentity(claims),
      tags: sessionTags(claims, mapping.sessionTags ?? DEFAULT_SESSION_TAGS),
      durationSeconds: sessionDuration(request.duration, mapping, deps.config.maxDuration),
      ...(mapping.sessionPolicy && { policy: mapping.sessionPolicy }),
    }
    const issuanceId = randomUUID()
    let reserved: AuditRecord
    try {
      reserved = await deps.audit.reserveIssuance(record({
        outcome: 'issued', scope: mapping.scope, roleArn: mapping.roleArn, issuanceId,
        sessionName: input.sessionName, durationSeconds: input.durationSeconds,
        ...(input.sourceIdentity && { sourceIdentity: input.sourceIdentity }),
      }), mapping.maxUses)
    }
    catch (err) {
      if (err instanceof UsesExhausted) return deny(mapping, { condition: 'maxUses', expected: `at most ${mapping.maxUses}`, actual: 'exhausted' })
      throw err
    }

    let credentials
    try {
      credentials = await deps.sts.assumeRole(input)
    }
    catch (err) {
      const reason = !(err instanceof BrokerError) ? 'STS failed' : err.detail ? `${err.message} (${err.detail})` : err.message
      await deps.audit.markFailed(reserved, reason).catch(e => deps.log('error', 'could not mark issuance failed', { requestId: request.requestId, ...errorFields(e) }))
      throw err
    }

    // What STS answered, then the record (the fast order, as in auditRecord), which may not hold any of it.
    refuseOwn(reserved, 'accessKeyId', 'expiration', 'assumedRoleArn')
    const event: IssuedEvent = {
      accessKeyId: credentials.accessKeyId,
      expiration: credentials.expiration.toISOString(),
      assumedRoleArn: credentials.assumedRoleArn,
      ...reserved,
    }
    // The audit record is already durable: a failed publish is logged, and the caller still gets its credentials.
    await deps.publish(event).catch(err => deps.log('error', 'credentials-issued event not published', { requestId: request.requestId, issuanceId, ...errorFields(err) }))
    return { credentials, roleArn: mapping.roleArn, issuanceId }
  }
}
