// Every failure the broker answers with: one class per code of the HTTP contract (DESIGN §2).
// `message` is safe to show the caller; `detail` and `cause` are for logs only. Mapping to a body is respond.ts's job.

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'access_denied'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'upstream_error'
  | 'unavailable'
  | 'internal_error'

/** Why an authenticated caller was refused: the same value feeds the audit record and `explain`. */
export interface Denial {
  condition: string
  expected?: string | string[]
  actual?: string
}

export abstract class BrokerError extends Error {
  static code: ErrorCode
  abstract readonly code: ErrorCode
  abstract readonly status: number
  /** For logs: never shown to the caller, never contains a token or secret. */
  detail?: string

  constructor (message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = this.constructor.name
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

export class MethodNotAllowed extends BrokerError {
  static override code = 'method_not_allowed' as const
  readonly code = 'method_not_allowed' as const
  readonly status = 405
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

/** Thrown when a conditional admin write (the CLI's, mappings.ts) lost to a concurrent one: not an answer of the broker. */
export class MappingConflict extends Error {
  constructor (readonly scope: string, readonly role: string) {
    super(`The mapping ${scope} ${role} was changed by someone else since it was read; nothing was written. Re-run to see the new state.`)
    this.name = 'MappingConflict'
  }
}

export function asBrokerError (err: unknown): BrokerError {
  if (err instanceof BrokerError) return err
  return new InternalError('The broker failed unexpectedly; the error was logged with this request id.', { cause: err })
}

/** What callers and probes are told while the configuration is invalid; the details (which may quote a value) go to the logs. */
export const MISCONFIGURED = 'The broker is misconfigured, so it issues nothing; its operators will find the setting to fix in its logs.'
