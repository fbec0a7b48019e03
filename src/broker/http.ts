// The credentials routes' shared handler: parse, exchange, respond; every failure answered per the contract.
// The broker is put together once per container, at cold start, by compose.ts (config, clients, the issuers' keys).
import { randomUUID } from 'node:crypto'
import { composeBroker } from './compose'
import { createCredentialsMetrics } from './credentials-metrics'
import type { CredentialsMetrics } from './credentials-metrics'
import type { MetricsSettings } from './emf'
import { InternalError, MISCONFIGURED, Unavailable, asBrokerError } from './errors'
import type { Exchange } from './exchange'
import { errorFields, log } from './log'
import { parseCredentialsRequest, responseFormat } from './request'
import type { Format, HttpEvent } from './request'
import { respondCredentials, respondError } from './respond'
import type { HttpResult } from './respond'

/** A bad configuration is logged at cold start naming the variable, and every request answers 503 until it is fixed. */
function composeOrExplain (build: () => Exchange): Exchange {
  try { return build() }
  catch (err) {
    log('error', 'broker configuration is invalid', errorFields(err))
    return async () => { throw new Unavailable(MISCONFIGURED) }
  }
}

/** `build` gets the metrics' watchers, for composeBroker to count the audit store's and the publisher's failures per request. */
export function createCredentialsHandler (method: 'GET' | 'POST', build: (metrics: CredentialsMetrics) => Exchange = metrics => composeBroker(process.env, { metrics }).exchange,
  settings?: MetricsSettings): (event: HttpEvent) => Promise<HttpResult> {
  // One EMF line per request (credentials-metrics.ts): outcome, latency, and what failed.
  const metrics = createCredentialsMetrics(method === 'GET' ? 'get-credentials' : 'post-credentials', settings)
  const exchange = composeOrExplain(() => build(metrics))
  return async function handler (event) {
    const requestId = event.requestContext?.requestId || randomUUID()
    const measured = metrics.begin(requestId)
    // Who called, for the log line of every answer: a spray of bad tokens leaves no audit record, but leaves these.
    const http = event.requestContext?.http
    const sourceIp = typeof http?.sourceIp === 'string' ? http.sourceIp.slice(0, 64) : undefined
    const userAgent = typeof http?.userAgent === 'string' ? http.userAgent.slice(0, 128) : undefined
    let format: Format | undefined
    let role: string | undefined
    try {
      const request = parseCredentialsRequest(event, method)
      format = request.format
      role = request.role
      const issued = await exchange({ token: request.token, role: request.role, duration: request.duration, requestId })
      log('info', 'credentials issued', { requestId, issuanceId: issued.issuanceId, role: request.role, roleArn: issued.roleArn, accessKeyId: issued.credentials.accessKeyId, sourceIp, userAgent })
      measured.issued(request.role)
      return respondCredentials(issued, request.format, requestId)
    }
    catch (err) {
      const failure = asBrokerError(err)
      measured.refused(failure, role)
      const unexpected = failure instanceof InternalError
      log(failure.status >= 500 ? 'error' : 'info', 'request refused', { requestId, status: failure.status, code: failure.code, sourceIp, userAgent, ...errorFields(unexpected ? err : failure, unexpected) })
      // A request that parsed says its format; only one that did not is read leniently (and only here).
      return respondError(failure, format ?? responseFormat(event, method), requestId)
    }
    finally { measured.end() }
  }
}
