// Every other method and path: a JSON answer per the contract instead of API Gateway's or Architect's defaults.
import { randomUUID } from 'node:crypto'

interface Event { rawPath?: string; requestContext?: { requestId?: string; http?: { method?: string } } }

export async function handler (event: Event) {
  const requestId = event.requestContext?.requestId || randomUUID()
  const method = event.requestContext?.http?.method ?? ''
  const path = event.rawPath ?? ''
  const known: Record<string, string> = { '/credentials': 'GET, POST', '/healthz': 'GET' }
  const allow = known[path]
  const body = allow
    ? { error: 'method_not_allowed', message: `${path} does not take ${method.slice(0, 16)}; use ${allow}.`, requestId }
    : { error: 'not_found', message: 'Not found. The broker answers POST /credentials, GET /credentials and GET /healthz.', requestId }
  return {
    statusCode: allow ? 405 : 404,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-request-id': requestId, ...(allow && { allow }) },
    body: JSON.stringify(body),
  }
}
