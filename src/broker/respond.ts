// The only place a response body is written: credentials as json, shell or container format, every error (the
// catch-all's 404 and 405 too), and healthz's answer. All with the same headers.
// What to answer (credentials or which error) is decided before; this file only shapes it (DESIGN §2).
import { MethodNotAllowed } from './errors'
import type { BrokerError } from './errors'
import type { Format } from './request'
import type { IssuedCredentials } from './sts'

export interface HttpResult {
  statusCode: number
  headers: Record<string, string>
  body: string
}

export interface Issued {
  readonly credentials: IssuedCredentials
  readonly roleArn: string
  readonly issuanceId: string
}

/** `YYYY-MM-DDTHH:MM:SSZ`: the JS SDK's container provider rejects other forms (e.g. `+00:00`). */
export function isoSeconds (date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** POSIX single quotes: nothing inside them is special but `'`, which is closed, escaped and reopened. */
export function shellQuote (value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`
}

function headers (requestId: string, contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-request-id': requestId,
    'x-content-type-options': 'nosniff',
  }
}

export function respondCredentials (issued: Issued, format: Format, requestId: string): HttpResult {
  const c = issued.credentials
  const expiration = isoSeconds(c.expiration)
  if (format === 'shell') {
    const lines = [
      `export AWS_ACCESS_KEY_ID=${shellQuote(c.accessKeyId)}`,
      `export AWS_SECRET_ACCESS_KEY=${shellQuote(c.secretAccessKey)}`,
      `export AWS_SESSION_TOKEN=${shellQuote(c.sessionToken)}`,
      `export AWS_CREDENTIAL_EXPIRATION=${shellQuote(expiration)}`,
    ]
    return { statusCode: 200, headers: headers(requestId, 'text/plain; charset=utf-8'), body: lines.join('\n') + '\n' }
  }
  const body = format === 'container'
    ? { AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: expiration, RoleArn: issued.roleArn }
    : {
        Version: 1,
        AccessKeyId: c.accessKeyId,
        SecretAccessKey: c.secretAccessKey,
        SessionToken: c.sessionToken,
        Expiration: expiration,
        RoleArn: issued.roleArn,
        AssumedRoleArn: c.assumedRoleArn,
        IssuanceId: issued.issuanceId,
      }
  return { statusCode: 200, headers: headers(requestId, 'application/json'), body: JSON.stringify(body) }
}

/**
 * An error as the contract's JSON body. In shell format the body is a script that prints the message to stderr
 * and exits non-zero, so `eval "$(curl ...)"` stops the job instead of running on without credentials.
 */
export function respondError (err: BrokerError, format: Format, requestId: string, extraHeaders: Record<string, string> = {}): HttpResult {
  const extra = { ...extraHeaders }
  if (err.status === 401) extra['www-authenticate'] = 'Bearer realm="tanuki-sts", error="invalid_token"'
  if (err instanceof MethodNotAllowed) extra.allow = err.allow
  if (format === 'shell') {
    const text = `tanuki-sts: ${err.code}: ${err.message} (request ${requestId})`
    return {
      statusCode: err.status,
      headers: { ...headers(requestId, 'text/plain; charset=utf-8'), ...extra },
      body: `printf '%s\\n' ${shellQuote(text)} >&2\nexit 1\n`,
    }
  }
  return {
    statusCode: err.status,
    headers: { ...headers(requestId, 'application/json'), ...extra },
    body: JSON.stringify({ error: err.code, message: err.message, requestId }),
  }
}

/** GET /healthz: ok with the version, or 503 with the failure (a bad configuration, told only that it is bad). */
export function respondHealth (version: string, failure: BrokerError | undefined, requestId: string): HttpResult {
  return {
    statusCode: failure ? failure.status : 200,
    headers: headers(requestId, 'application/json'),
    body: JSON.stringify(failure ? { ok: false, version, error: failure.code, message: failure.message } : { ok: true, version }),
  }
}
