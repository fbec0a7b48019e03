// The credentials routes' shared handler: parse, exchange, respond; every failure answered per the contract.
// Module-scope wiring (config, clients, JWKS cache) happens once per container, in wire().
import { randomUUID } from 'node:crypto'
import { createAuditStore } from './audit'
import { loadConfig } from './config'
import { createDynamoClient } from './dynamo'
import { InternalError, Unavailable, asBrokerError } from './errors'
import { createExchange } from './exchange'
import type { Exchange } from './exchange'
import { errorFields, log } from './log'
import { createMappingStore } from './mappings'
import { publishIssued } from './publish'
import { parseCredentialsRequest, responseFormat } from './request'
import type { HttpEvent } from './request'
import { respondCredentials, respondError } from './respond'
import type { HttpResult } from './respond'
import { createStsPort } from './sts'
import { createTokenVerifier } from './token'

/** Builds the exchange from the environment: the real token verifier, DynamoDB, STS and event bus. */
export function wire (env: Readonly<Record<string, string | undefined>> = process.env): Exchange {
  const config = loadConfig(env)
  const db = createDynamoClient({ region: config.region, endpoint: config.dynamoEndpoint })
  return createExchange({
    config,
    verifyToken: createTokenVerifier(config),
    mappings: createMappingStore(db, config.tables.mappings),
    audit: createAuditStore(db, config.tables.audit),
    sts: createStsPort({ region: config.region, endpoint: config.stsEndpoint }),
    publish: publishIssued,
    log,
  })
}

/** A bad configuration is logged at cold start naming the variable, and every request answers 503 until it is fixed. */
function wireOrExplain (build: () => Exchange): Exchange {
  try { return build() }
  catch (err) {
    log('error', 'broker configuration is invalid', errorFields(err))
    const message = `The broker is misconfigured: ${err instanceof Error ? err.message : String(err)}.`
    return async () => { throw new Unavailable(message) }
  }
}

export function createCredentialsHandler (method: 'GET' | 'POST', build: () => Exchange = wire): (event: HttpEvent) => Promise<HttpResult> {
  const exchange = wireOrExplain(build)
  return async function handler (event) {
    const requestId = event.requestContext?.requestId || randomUUID()
    const format = responseFormat(event, method)
    try {
      const request = parseCredentialsRequest(event, method)
      const issued = await exchange({ token: request.token, role: request.role, duration: request.duration, requestId })
      log('info', 'credentials issued', { requestId, issuanceId: issued.issuanceId, role: request.role, roleArn: issued.roleArn, accessKeyId: issued.credentials.accessKeyId })
      return respondCredentials(issued, request.format, requestId)
    }
    catch (err) {
      const failure = asBrokerError(err)
      const unexpected = failure instanceof InternalError
      log(failure.status >= 500 ? 'error' : 'info', 'request refused', { requestId, status: failure.status, code: failure.code, ...errorFields(unexpected ? err : failure, unexpected) })
      return respondError(failure, format, requestId)
    }
  }
}
