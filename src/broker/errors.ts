// Every failure of tanuki-sts, one class each, with a stable code: callers `switch` on `err.code` (jose's way). Two kinds:
// - BrokerError: what the broker answers with, one class per code of the HTTP contract (DESIGN §2). `code` is the
//   body's `error`, `status` the HTTP status; `message` is safe to show the caller, `detail` and `cause` are for logs
//   only. Turning one into a response is respond.ts's job.
// - the rest never reach the wire: a stored mapping that does not parse, a write that lost to another, a document an
//   issuer should not have sent, and the CLI's failures. Their codes are `ERR_...`.
// Caller misuse (a bad configuration variable, a record that holds a key set beside it) stays a TypeError.
// Imports nothing at run time: every Lambda loads this file, healthz included.
import type { Problem } from './mapping'

/** The `error` of an HTTP answer (DESIGN §2). */
export type HttpErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'access_denied'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'upstream_error'
  | 'unavailable'
  | 'internal_error'

/** Failures that stay inside: the stores', the parser's, the token fetch's and the CLI's. */
export type FailureCode =
  | 'ERR_MAPPING_INVALID'
  | 'ERR_MAPPING_CONFLICT'
  | 'ERR_USES_EXHAUSTED'
  | 'ERR_AUDIT_RECORD_MISMATCH'
  | 'ERR_FETCH_REFUSED'
  | 'ERR_KEYS_CONFLICT'
  | 'ERR_KEY_SET_INVALID'
  | 'ERR_PUT_FLAGS_INVALID'
  | 'ERR_APPLY_CONFLICT'
  | 'ERR_CLI'

export type ErrorCode = HttpErrorCode | FailureCode

/** Why an authenticated caller was refused: the same value feeds the audit record and `explain`. */
export interface Denial {
  condition: string
  expected?: string | string[]
  actual?: string
}

/** The base of every failure: its class's name as `name`, its code as `code`, on the class and on each instance. */
export abstract class TanukiError extends Error {
  static code: ErrorCode
  abstract readonly code: ErrorCode

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = this.constructor.name
  }
}

export abstract class BrokerError extends TanukiError {
  static override code: HttpErrorCode
  abstract override readonly code: HttpErrorCode
  abstract readonly status: number
  /** For logs: never shown to the caller, never contains a token or secret. */
  detail?: string

  constructor (message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options)
    this.detail = options?.detail
  }
}

export class InvalidRequest extends BrokerError {
  static override code = 'invalid_request' as const
  readonly code = 'invalid_request' as const
  readonly status = 400
}

/**
 * Why a token was refused, as one bounded word set where the refusal is thrown: the `Reason` of the TokenRefused metric,
 * so rewording a message never changes what the metrics count.
 */
export type TokenRefusalReason =
  | 'missing' // no token in the Authorization header, or not as a Bearer token
  | 'malformed' // not a compact JWS, not canonical base64url, not JSON, or JWS extensions
  | 'algorithm' // signed with anything but RS256
  | 'untrusted_issuer' // an `iss` not in BROKER_ISSUERS
  | 'unknown_key' // a kid its issuer's keys lack, even after a refresh
  | 'unusable_key' // the issuer's key cannot verify (an RSA key under 2048 bits)
  | 'signature' // the signature does not verify
  | 'expired' // past `exp`
  | 'audience' // no `aud`, or not this broker's
  | 'claim' // a registered claim is wrong (`nbf`, `iat` in the future, `exp` missing...)
  | 'gitlab_claims' // not the claim set of a GitLab ID token the reader accepts (missing or ill-shaped claims)
  | 'invalid' // refused by jose for another reason

export class InvalidToken extends BrokerError {
  static override code = 'invalid_token' as const
  readonly code = 'invalid_token' as const
  readonly status = 401
  readonly reason: TokenRefusalReason

  constructor (message: string, options: { reason: TokenRefusalReason; cause?: unknown; detail?: string }) {
    super(message, options)
    this.reason = options.reason
  }
}

export class AccessDenied extends BrokerError {
  static override code = 'access_denied' as const
  readonly code = 'access_denied' as const
  readonly status = 403
  readonly denial: Denial

  constructor (message: string, denial: Denial, options?: { cause?: unknown; detail?: string }) {
    super(message, options)
    this.denial = denial
  }
}

/** A path the broker has no route for (the catch-all route). */
export class NotFound extends BrokerError {
  static override code = 'not_found' as const
  readonly code = 'not_found' as const
  readonly status = 404
}

/** A route's path with a method it does not take; `allow` is the answer's `Allow` header (routes.ts). */
export class MethodNotAllowed extends BrokerError {
  static override code = 'method_not_allowed' as const
  readonly code = 'method_not_allowed' as const
  readonly status = 405

  constructor (message: string, readonly allow: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options)
  }
}

export class PayloadTooLarge extends BrokerError {
  static override code = 'payload_too_large' as const
  readonly code = 'payload_too_large' as const
  readonly status = 413
}

export class UpstreamError extends BrokerError {
  static override code = 'upstream_error' as const
  readonly code = 'upstream_error' as const
  readonly status = 502
}

export class Unavailable extends BrokerError {
  static override code = 'unavailable' as const
  readonly code = 'unavailable' as const
  readonly status = 503
}

/** Anything that is not a BrokerError: answered as a generic 500, its stack logged, never shown. */
export class InternalError extends BrokerError {
  static override code = 'internal_error' as const
  readonly code = 'internal_error' as const
  readonly status = 500
}

export function asBrokerError (err: unknown): BrokerError {
  if (err instanceof BrokerError) return err
  return new InternalError('The broker failed unexpectedly; the error was logged with this request id.', { cause: err })
}

/** What callers and probes are told while the configuration is invalid; the details (which may quote a value) go to the logs. */
export const MISCONFIGURED = 'The broker is misconfigured, so it issues nothing; its operators will find the setting to fix in its logs.'

/** A mapping that does not parse (mapping.ts): every problem found, each with the field path it concerns. */
export class MappingInvalid extends TanukiError {
  static override code = 'ERR_MAPPING_INVALID' as const
  readonly code = 'ERR_MAPPING_INVALID' as const
  constructor (readonly problems: Problem[]) {
    super(problems.map(p => (p.path.length ? `${p.path.join('.')}: ` : '') + p.message).join('; '))
  }
}

/** A conditional admin write (mappings.ts) lost to a concurrent one. */
export class MappingConflict extends TanukiError {
  static override code = 'ERR_MAPPING_CONFLICT' as const
  readonly code = 'ERR_MAPPING_CONFLICT' as const
  constructor (readonly scope: string, readonly role: string) {
    super(`The mapping ${scope} ${role} was changed by someone else since it was read; nothing was written. Re-run to see the new state.`)
  }
}

/** Every use slot of a maxUses mapping is taken for this token (audit.ts); the exchange answers it as AccessDenied. */
export class UsesExhausted extends TanukiError {
  static override code = 'ERR_USES_EXHAUSTED' as const
  readonly code = 'ERR_USES_EXHAUSTED' as const
  constructor (readonly maxUses: number) {
    super(`This ID token has already been used ${maxUses} time(s) for this role (maxUses).`)
  }
}

/** A credentials-issued event that does not match the record it names (audit.ts): not an issuance, or another one's. */
export class AuditRecordMismatch extends TanukiError {
  static override code = 'ERR_AUDIT_RECORD_MISMATCH' as const
  readonly code = 'ERR_AUDIT_RECORD_MISMATCH' as const
  constructor (readonly key: { readonly pk: string; readonly sk: string }) {
    super(`The audit record ${key.pk} ${key.sk} is missing (expired), is not the issuance this event names, or already holds other credentials; nothing was changed.`)
  }
}

/** An issuer's discovery or JWKS document refused (fetch-capped.ts, token.ts); the verifier answers it as Unavailable. */
export class FetchRefused extends TanukiError {
  static override code = 'ERR_FETCH_REFUSED' as const
  readonly code = 'ERR_FETCH_REFUSED' as const
}

/** Newer keys for the issuer were stored meanwhile (issuer-keys.ts): nothing was written. */
export class KeysConflict extends TanukiError {
  static override code = 'ERR_KEYS_CONFLICT' as const
  readonly code = 'ERR_KEYS_CONFLICT' as const
  constructor (readonly issuer: string) {
    super(`Newer keys for ${issuer} were stored meanwhile; nothing was written.`)
  }
}

/** A key set (or a stored item holding one) the broker will not verify with (key-set.ts): every problem found. */
export class KeySetInvalid extends TanukiError {
  static override code = 'ERR_KEY_SET_INVALID' as const
  readonly code = 'ERR_KEY_SET_INVALID' as const
  constructor (readonly problems: readonly string[]) {
    super(problems.join('; '))
  }
}

/** `mappings put` flags that do not make a mapping (put-flags.ts): each problem as `--flag: problem`. */
export class PutFlagsInvalid extends TanukiError {
  static override code = 'ERR_PUT_FLAGS_INVALID' as const
  readonly code = 'ERR_PUT_FLAGS_INVALID' as const
  constructor (readonly problems: string[]) {
    super(problems.join('\n'))
  }
}

/** A plan's writes stopped at a conflict (apply.ts): how many steps went through before it. */
export class ApplyConflict extends TanukiError {
  static override code = 'ERR_APPLY_CONFLICT' as const
  readonly code = 'ERR_APPLY_CONFLICT' as const
  constructor (readonly conflict: MappingConflict, readonly done: number, readonly total: number) {
    super(`${conflict.message}\nConflict: another writer changed the table since the plan was made; ` +
      `${done ? `${done} of ${total} change(s) were applied before it; ` : ''}` +
      'nothing else was written. Re-run `tanuki-sts mappings apply` to plan against the new state.')
  }
}

/** A failure the CLI's user can fix: printed as its message alone (no stack), exit 1 unless it says otherwise. */
export class CliError extends TanukiError {
  static override code = 'ERR_CLI' as const
  readonly code = 'ERR_CLI' as const
  constructor (message: string, readonly exitCode = 1) {
    super(message)
  }
}
