// Every other method and path: a JSON answer per the contract instead of API Gateway's or Architect's defaults.
import { randomUUID } from 'node:crypto'
import { MethodNotAllowed, NotFound } from '../../broker/errors'
import { respondError } from '../../broker/respond'
import { allowedMethods } from '../../broker/routes'

interface Event { rawPath?: string; requestContext?: { requestId?: string; http?: { method?: string } } }

export async function handler (event: Event) {
  const requestId = event.requestContext?.requestId || randomUUID()
  const method = event.requestContext?.http?.method ?? ''
  const path = event.rawPath ?? ''
  const allow = allowedMethods(path)
  const failure = allow
    ? new MethodNotAllowed(`${path} does not take ${method.slice(0, 16)}; use ${allow}.`, allow)
    : new NotFound('Not found. The broker answers POST /credentials, GET /credentials and GET /healthz.')
  return respondError(failure, 'json', requestId)
}
