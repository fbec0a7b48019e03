// The event Lambda's metrics: one EMF line per invocation (emf.ts): events handled, events refused (no matching audit
// record), audit write failures, and its cold start. The work itself is issued-log.ts's; its audit store is watched here.
import { AuditRecordMismatch } from './errors'
import type { AuditStore } from './audit'
import { coldStartTracker, emfLine, loadMetricsSettings, writeLine } from './emf'
import type { MetricsSettings } from './emf'

export interface InvocationMetrics {
  /** The store, counting what it refused (a mismatched event) and what failed (a write) in this invocation. */
  readonly audit: AuditStore
  /** Writes the invocation's line: `handled` events. */
  end (handled: number): void
}

export function createEventMetrics (settings: MetricsSettings = loadMetricsSettings()): (audit: AuditStore) => InvocationMetrics {
  const isCold = coldStartTracker()
  return audit => {
    const cold = isCold()
    let refused = 0
    let failures = 0
    return {
      audit: {
        ...audit,
        async recordCredentials (key, credentials) {
          try { return await audit.recordCredentials(key, credentials) }
          catch (err) {
            if (err instanceof AuditRecordMismatch) refused++
            else failures++
            throw err
          }
        },
      },
      end (handled) {
        if (!settings.enabled) return
        writeLine(emfLine(settings.namespace, Date.now(), [
          { dimensions: [[]], metrics: [['EventsHandled', 'Count'], ['EventsRefused', 'Count']] },
          { dimensions: [[], ['Function']], metrics: [['AuditFailures', 'Count']] },
          ...(cold ? [{ dimensions: [['Function']], metrics: [['ColdStart', 'Count']] } as const] : []),
        ], {
          Function: 'credentials-issued',
          EventsHandled: handled,
          EventsRefused: refused,
          AuditFailures: failures,
          ...(cold && { ColdStart: 1 }),
        }))
      },
    }
  }
}
