// The credentials Lambdas' metrics: one EMF line per request (emf.ts), whatever its answer. The handler (http.ts) says
// how the request ended; the audit store and the publisher, wrapped when the exchange is wired, say what failed in them
// for the request they served. Dimensions come from bounded sets only, and no line ever holds a token or a secret.
import { performance } from 'node:perf_hooks'
import { STSServiceException } from '@aws-sdk/client-sts'
import type { AuditRecord, AuditStore } from './audit'
import { coldStartTracker, dimensionValue, emfLine, loadMetricsSettings, writeLine } from './emf'
import type { Directive, MetricsSettings } from './emf'
import { AccessDenied, InvalidToken, UpstreamError, UsesExhausted } from './errors'
import type { BrokerError } from './errors'
import type { IssuedEvent } from './exchange'
import { stsErrorCode } from './sts'

/** issued, denied (403), refused (any other 4xx: the request or token), error (5xx). */
export type RequestOutcome = 'issued' | 'denied' | 'refused' | 'error'

/** The role dimension of a denial no mapping made: a requested role name no mapping has is the caller's text, not a bounded value. */
export const UNMAPPED_ROLE = 'unmapped'

/** STS's error code for a refusal (AccessDenied, RegionDisabledException, ...), or how it failed without one. */
export function upstreamCode (err: UpstreamError): string {
  if (err.cause instanceof STSServiceException) return dimensionValue(stsErrorCode(err.cause), /^[A-Za-z.]{1,64}$/)
  return err.cause === undefined ? 'NoCredentials' : 'Unreachable'
}

interface Open {
  readonly started: number
  readonly cold: boolean
  outcome?: RequestOutcome
  members: Record<string, string | number>
  directives: Directive[]
  project?: string
  auditFailures: number
  publishFailures: number
}

export interface RequestMetrics {
  issued (role: string): void
  /** `role`: the requested role, once the request parsed (kept only where a mapping names it). */
  refused (failure: BrokerError, role: string | undefined): void
  /** Writes the request's line. */
  end (): void
}

export interface CredentialsMetrics {
  begin (requestId: string): RequestMetrics
  /** The audit store, counting its write failures (a use limit reached is an answer, not a failure) against the request. */
  watchAudit (store: AuditStore): AuditStore
  /** The publisher, counting its failures against the request. */
  watchPublish (publish: (event: IssuedEvent) => Promise<void>): (event: IssuedEvent) => Promise<void>
}

const ALL: readonly string[] = []

export function createCredentialsMetrics (fn: 'post-credentials' | 'get-credentials', settings: MetricsSettings = loadMetricsSettings()): CredentialsMetrics {
  const isCold = coldStartTracker()
  // Requests in flight, by request id: a Lambda serves one at a time, the benchmarks and tests many at once.
  const open = new Map<string, Open>()

  async function watched<T> (requestId: unknown, project: string | undefined, write: () => Promise<T>): Promise<T> {
    const entry = typeof requestId === 'string' ? open.get(requestId) : undefined
    if (entry && project) entry.project = project
    try { return await write() }
    catch (err) {
      if (entry && !(err instanceof UsesExhausted)) entry.auditFailures++
      throw err
    }
  }

  function decided (entry: Open, metric: 'Issued' | 'Denied', role: string, extra: Readonly<Record<string, string>> = {}): void {
    const dimensions: string[][] = [[], ['Role'], ...Object.keys(extra).map(k => [k])]
    if (settings.perProject && entry.project) {
      dimensions.push(['Project'])
      entry.members.Project = dimensionValue(entry.project)
    }
    entry.directives.push({ dimensions, metrics: [[metric, 'Count']] })
    Object.assign(entry.members, { [metric]: 1, Role: dimensionValue(role), ...extra })
  }

  return {
    begin (requestId) {
      const entry: Open = { started: performance.now(), cold: isCold(), members: {}, directives: [], auditFailures: 0, publishFailures: 0 }
      open.set(requestId, entry)
      return {
        issued (role) {
          entry.outcome = 'issued'
          decided(entry, 'Issued', role)
        },
        refused (failure, role) {
          entry.outcome = failure.status >= 500 ? 'error' : failure instanceof AccessDenied ? 'denied' : 'refused'
          if (failure instanceof AccessDenied) {
            const unmapped = failure.denial.condition === 'mapping' && failure.denial.actual === 'none'
            decided(entry, 'Denied', unmapped || role === undefined ? UNMAPPED_ROLE : role, { Condition: dimensionValue(failure.denial.condition) })
          }
          // The reason the refusal was thrown with (errors.ts): a bounded word, never read from the message.
          if (failure instanceof InvalidToken) {
            entry.directives.push({ dimensions: [ALL, ['Reason']], metrics: [['TokenRefused', 'Count']] })
            Object.assign(entry.members, { TokenRefused: 1, Reason: failure.reason })
          }
          if (failure instanceof UpstreamError) {
            entry.directives.push({ dimensions: [ALL, ['StsCode']], metrics: [['UpstreamErrors', 'Count']] })
            Object.assign(entry.members, { UpstreamErrors: 1, StsCode: upstreamCode(failure) })
          }
        },
        end () {
          open.delete(requestId)
          if (!settings.enabled) return
          const outcome = entry.outcome ?? 'error'
          const directives: Directive[] = [
            { dimensions: [ALL, ['Outcome']], metrics: [['Requests', 'Count'], ['Latency', 'Milliseconds']] },
            { dimensions: [ALL, ['Function']], metrics: [['ServerErrors', 'Count'], ['AuditFailures', 'Count'], ['PublishFailures', 'Count']] },
            ...entry.directives,
            ...(entry.cold ? [{ dimensions: [['Function']], metrics: [['ColdStart', 'Count']] } as const] : []),
          ]
          writeLine(emfLine(settings.namespace, Date.now(), directives, {
            requestId,
            Function: fn,
            Outcome: outcome,
            Requests: 1,
            Latency: Math.round((performance.now() - entry.started) * 10) / 10,
            ServerErrors: outcome === 'error' ? 1 : 0,
            AuditFailures: entry.auditFailures,
            PublishFailures: entry.publishFailures,
            ...(entry.cold && { ColdStart: 1 }),
            ...entry.members,
          }))
        },
      }
    },

    watchAudit (store) {
      return {
        ...store,
        reserveIssuance: (record, maxUses) => watched(record.requestId, record.project_path, () => store.reserveIssuance(record, maxUses)),
        recordDenial: record => watched(record.requestId, record.project_path, () => store.recordDenial(record)),
        // The exchange passes the reserved record itself, which names its request.
        markFailed: (key, reason) => watched((key as Partial<AuditRecord>).requestId, undefined, () => store.markFailed(key, reason)),
      }
    },

    watchPublish (publish) {
      return async event => {
        try { await publish(event) }
        catch (err) {
          const entry = open.get(event.requestId)
          if (entry) entry.publishFailures++
          throw err
        }
      }
    },
  }
}
