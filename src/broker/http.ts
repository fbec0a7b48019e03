// The credentials routes' shared handler: parse, exchange, respond; every failure answered per the contract.
// Module-scope wiring (config, clients, issuer keys) happens once per container, in wire().
import { randomUUID } from 'node:crypto'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { STSClient } from '@aws-sdk/client-sts'
import { createAuditStore } from './audit'
import { createBatchReader } from './batch-read'
import { loadConfig, loadEventsTarget } from './config'
import { createCredentialsMetrics } from './credentials-metrics'
import type { CredentialsMetrics } from './credentials-metrics'
import type { MetricsSettings } from './emf'
import { createDynamoClient } from './dynamo'
import { InternalError, MISCONFIGURED, Unavailable, asBrokerError } from './errors'
import { createExchange } from './exchange'
import type { Exchange, IssuedEvent } from './exchange'
import { createIssuerKeysStore } from './issuer-keys'
import { errorFields, log } from './log'
import { createMappedRoles } from './mapped-roles'
import { createMappingStore } from './mappings'
import { createPublisher } from './publish'
import { parseCredentialsRequest, responseFormat } from './request'
import type { Format, HttpEvent } from './request'
import { respondCredentials, respondError } from './respond'
import type { HttpResult } from './respond'
import { createStsClient, createStsPort } from './sts'
import { createTokenVerifier } from './token'
import { createVerifyAndFind } from './verify-and-find'

/** Seams for benchmarks and tests: nothing in the Lambdas passes these. */
export interface WireOptions {
  /** Replaces the `credentials-issued` publisher (a benchmark's no-op or sink). */
  readonly publish?: (event: IssuedEvent) => Promise<void>
  /** Sees each SDK client before its first request, e.g. to add middleware that counts round trips. */
  readonly instrument?: (client: DynamoDBClient | STSClient) => void
  /** Counts the audit store's and the publisher's failures against the request (the handler's metrics pass this). */
  readonly metrics?: Pick<CredentialsMetrics, 'watchAudit' | 'watchPublish'>
}

/** Builds the exchange from the environment: the real token verifier, DynamoDB, STS and event bus. */
export function wire (env: Readonly<Record<string, string | undefined>> = process.env, options: WireOptions = {}): Exchange {
  const config = loadConfig(env)
  const events = loadEventsTarget(env)
  const db = createDynamoClient({ region: config.region, endpoint: config.dynamoEndpoint })
  const sts = createStsClient({ region: config.region, endpoint: config.stsEndpoint })
  options.instrument?.(db)
  options.instrument?.(sts)
  const watch = options.metrics ?? { watchAudit: <T>(store: T) => store, watchPublish: <T>(publish: T) => publish }
  return createExchange({
    config,
    verifyAndFind: createVerifyAndFind({
      verifier: createTokenVerifier(config, { store: createIssuerKeysStore(db, config.tables.issuerKeys), log }),
      mappings: createMappingStore(db, config.tables.mappings),
      readTogether: createBatchReader(db, config.tables),
    }),
    mappedRoles: createMappedRoles(db, config.tables.mappings),
    audit: watch.watchAudit(createAuditStore(db, config.tables.audit)),
    sts: createStsPort({ client: sts }),
    // The event is signed with the STS client's credential provider: the Lambda role's, resolved once and cached.
    publish: watch.watchPublish(options.publish ?? createPublisher(events, sts.config.credentials)),
    log,
  })
}

/** A bad configuration is logged at cold start naming the variable, and every request answers 503 until it is fixed. */
function wireOrExplain (build: () => Exchange): Exchange {
  try { return build() }
  catch (err) {
    log('error', 'broker configuration is invalid', errorFields(err))
    return async () => { throw new Unavailable(MISCONFIGURED) }
  }
}

/** `build` gets the metrics' watchers, for wire() to count the audit store's and the publisher's failures per request. */
export function createCredentialsHandler (method: 'GET' | 'POST', build: (metrics: CredentialsMetrics) => Exchange = metrics => wire(process.env, { metrics }),
  settings?: MetricsSettings): (event: HttpEvent) => Promise<HttpResult> {
  // One EMF line per request (credentials-metrics.ts): outcome, latency, and what failed.
  const metrics = createCredentialsMetrics(method === 'GET' ? 'get-credentials' : 'post-credentials', settings)
  const exchange = wireOrExplain(() => build(metrics))
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
