// The `credentials-issued` event's work: one structured log line per issuance, and the AccessKeyId added to its audit record.
// Publishing the event is exchange.ts's; the record itself was written before the credentials existed (audit.ts).
import { AuditRecordMismatch } from './audit'
import type { AuditStore } from './audit'
import type { IssuedEvent } from './exchange'
import type { Logger } from './log'
import { errorFields } from './log'

/** The SNS envelope Architect delivers `@events` in (sandbox uses the same shape). */
export interface SnsEvent { Records?: Array<{ Sns?: { Message?: string } }> }

const SAFE_FIELDS = ['issuanceId', 'requestId', 'at', 'project', 'project_id', 'ref', 'ref_type', 'ref_protected', 'pipeline_id', 'job_id',
  'user_login', 'environment', 'role', 'scope', 'roleArn', 'assumedRoleArn', 'sessionName', 'sourceIdentity', 'durationSeconds', 'use',
  'accessKeyId', 'expiration', 'token_sha256', 'pk', 'sk'] as const

export async function handleIssuedEvents (event: SnsEvent, audit: AuditStore, log: Logger): Promise<number> {
  let handled = 0
  for (const record of event.Records ?? []) {
    let issued: IssuedEvent
    try { issued = JSON.parse(record.Sns?.Message ?? '') as IssuedEvent }
    catch (err) {
      log('error', 'credentials-issued event is not JSON', errorFields(err))
      continue
    }
    // Only named fields are logged: whatever else a payload carries never reaches the log.
    const fields: Record<string, unknown> = {}
    for (const f of SAFE_FIELDS) if (issued[f] !== undefined) fields[f] = issued[f]
    log('info', 'credentials-issued', fields)
    try {
      if (typeof issued.issuanceId !== 'string') throw new AuditRecordMismatch(issued)
      await audit.recordCredentials({ pk: issued.pk, sk: issued.sk, issuanceId: issued.issuanceId }, { accessKeyId: issued.accessKeyId, expiration: issued.expiration })
    }
    catch (err) {
      const message = err instanceof AuditRecordMismatch ? 'credentials-issued event does not match its audit record; the record is unchanged' : 'could not add AccessKeyId to the audit record'
      log('error', message, { issuanceId: issued.issuanceId, pk: issued.pk, sk: issued.sk, ...errorFields(err) })
    }
    handled++
  }
  return handled
}
