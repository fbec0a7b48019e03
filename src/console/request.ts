// A console request as the pages read it: path, query, form fields (each one value, of bounded length), the raw session.
// Built from what arc.http hands over; what a field means is each page's.

/** A request the console cannot use as sent (a repeated or oversized field, a body that is not a form): 400. */
export class BadRequest extends Error {
  readonly code = 'bad_request'
  readonly status = 400
  constructor (message: string) {
    super(message)
    this.name = 'BadRequest'
  }
}

export interface ConsoleRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly form: URLSearchParams
  readonly headers: Readonly<Record<string, string | undefined>>
  /** What arc.http decrypted from the session cookie: checked by session.ts before any use. */
  readonly session: unknown
  readonly requestId: string
}

/** The part of an API Gateway (payload 2.0) event, as arc.http passes it on, that the console reads. */
export interface ArcRequest {
  rawPath?: string
  rawQueryString?: string
  headers?: Record<string, string | undefined>
  /** The body as it arrived (arc.http keeps it here before its own parsing). */
  rawBody?: unknown
  isBase64Encoded?: boolean
  session?: unknown
  requestContext?: { requestId?: string; http?: { method?: string } }
}

/** Forms are a few KiB; the largest field is a mapping's YAML or a pasted ID token. */
export const MAX_BODY_BYTES = 128 * 1024

function formOf (req: ArcRequest, method: string): URLSearchParams {
  if (method !== 'POST') return new URLSearchParams()
  const type = (req.headers?.['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') throw new BadRequest('The console takes forms (application/x-www-form-urlencoded) only.')
  const raw = typeof req.rawBody === 'string' ? req.rawBody : ''
  const text = req.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new BadRequest(`The form is larger than ${MAX_BODY_BYTES / 1024} KiB.`)
  return new URLSearchParams(text)
}

export function consoleRequest (req: ArcRequest, requestId: string): ConsoleRequest {
  const method = (req.requestContext?.http?.method ?? 'GET').toUpperCase()
  const headers: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value
  return {
    method,
    path: req.rawPath ?? '/',
    query: new URLSearchParams(req.rawQueryString ?? ''),
    form: formOf({ ...req, headers }, method),
    headers,
    session: req.session,
    requestId,
  }
}

/** One value of a query or form field, at most `max` characters; absent or empty is undefined, repeated is refused. */
export function field (params: URLSearchParams, name: string, max: number): string | undefined {
  const values = params.getAll(name)
  if (values.length > 1) throw new BadRequest(`"${name}" was sent ${values.length} times; send it once.`)
  const value = values[0]
  if (value === undefined || value === '') return undefined
  if (value.length > max) throw new BadRequest(`"${name}" is longer than ${max} characters.`)
  return value
}
