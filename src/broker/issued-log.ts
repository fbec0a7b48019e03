// The `credentials-issued` event's work: check the event against the issuance's audit record (adding the AccessKeyId to
// it), then log that record as one structured line. Receiving the event is the Lambda's (arc.events.subscribe);
// publishing it is exchange.ts's; the record itself was written before the credentials existed (audit.ts).
import type { AuditRecord, AuditStore } from './audit'
import { AuditRecordMismatch } from './errors'
import type { Logger } from './log'
import { errorFields } from './log'

/** What of an event the record check needs: the record's key and IssuanceId, and what STS answered. */
interface IssuedEventClaim {
  readonly pk: string
  readonly sk: string
  readonly issuanceId: string
  readonly accessKeyId: string
  readonly expiration: string
  readonly assumedRoleArn: string
}

/**
 * Fields of an issuance's record that its log line shows: no token, no secret (the record holds none). Not its key,
 * which repeats them (CloudWatch bills every byte): pk is `token#` + token_sha256, and sk `issue#<at>#<requestId>`, or
 * `use#<scope>#<role>#<use>` for a maxUses slot.
 */
const LOGGED_FIELDS = ['issuanceId', 'requestId', 'at', 'project', 'project_id', 'ref', 'ref_type', 'ref_protected', 'pipeline_id', 'job_id',
  'user_login', 'environment', 'role', 'scope', 'roleArn', 'assumedRoleArn', 'sessionName', 'sourceIdentity', 'durationSeconds', 'use',
  'accessKeyId', 'expiration', 'token_sha256'] as const

const REFUSED = 'credentials-issued event refused: it does not match its audit record; the record is unchanged'

/** The event's fields the check uses, each a string of a sane length; undefined when the payload is not shaped so. */
function readClaim (payload: unknown): IssuedEventClaim | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined
  const fields = payload as Record<string, unknown>
  const keys = ['pk', 'sk', 'issuanceId', 'accessKeyId', 'expiration', 'assumedRoleArn'] as const
  const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 2048
  return keys.every(k => text(fields[k])) ? fields as unknown as IssuedEventClaim : undefined
}

/**
 * One event. Only an event that matches its record (see AuditStore.recordCredentials) is logged as `credentials-issued`,
 * and the line shows the record as stored, not the event: an event forged on the bus is logged as refused, never as an
 * issuance. A store that cannot be reached throws, so the event is delivered again.
 */
export async function recordIssuedEvent (payload: unknown, audit: AuditStore, log: Logger): Promise<void> {
  const event = readClaim(payload)
  if (!event) {
    log('error', REFUSED, { reason: 'not an issuance event: pk, sk, issuanceId, accessKeyId, expiration and assumedRoleArn must be strings' })
    return
  }
  const key = { pk: event.pk, sk: event.sk, issuanceId: event.issuanceId }
  let record: AuditRecord
  try {
    record = await audit.recordCredentials(key, { accessKeyId: event.accessKeyId, expiration: event.expiration, assumedRoleArn: event.assumedRoleArn })
  }
  catch (err) {
    if (err instanceof AuditRecordMismatch) return log('error', REFUSED, { ...key, ...errorFields(err) })
    log('error', 'could not check a credentials-issued event against its audit record; it will be delivered again', { ...key, ...errorFields(err) })
    throw err
  }
  const fields: Record<string, unknown> = {}
  for (const f of LOGGED_FIELDS) if (record[f] !== undefined) fields[f] = record[f]
  log('info', 'credentials-issued', fields)
}
