// Reads a credentials request from an API Gateway (HTTP API, payload v2) event: token, role, duration, format.
// Every rule of what a well-formed request is lives here; what the token proves is token.ts's.
import { InvalidRequest, InvalidToken, MethodNotAllowed, PayloadTooLarge } from './errors'
import { MAX_DURATION, MIN_DURATION, ROLE_NAME } from './role'
import { ROUTES } from './routes'
import { MAX_TOKEN_BYTES } from './token'

/** The parts of an API Gateway v2 event the broker reads. */
export interface HttpEvent {
  readonly rawPath?: string
  readonly rawQueryString?: string
  readonly headers?: Readonly<Record<string, string | undefined>>
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>
  readonly body?: string
  readonly isBase64Encoded?: boolean
  readonly requestContext?: {
    readonly requestId?: string
    readonly http?: { readonly method?: string; readonly sourceIp?: string; readonly userAgent?: string }
  }
}

export type Format = 'json' | 'shell' | 'container'

export interface CredentialsRequest {
  readonly token: string
  readonly role: string
  readonly duration?: number
  readonly format: Format
}

/** Request bodies carry three short parameters; anything near this is not a credentials request. */
export const MAX_BODY_BYTES = 16 * 1024
const PARAMS: Record<'GET' | 'POST', readonly string[]> = { GET: ['role', 'duration'], POST: ['role', 'duration', 'format'] }

/**
 * A parameter name as a refusal quotes it: the caller's own text, cut to what a real one could be. Whatever was pasted
 * where a parameter goes (an ID token, say) then never reaches the answer or the logs whole.
 */
function named (key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key)
}

function header (event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {}
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key]
  return undefined
}

function rawQuery (event: HttpEvent): string {
  return event.rawQueryString ?? new URLSearchParams(
    Object.entries(event.queryStringParameters ?? {}).filter((e): e is [string, string] => e[1] !== undefined)).toString()
}

function queryParams (event: HttpEvent): Map<string, string> {
  const out = new Map<string, string>()
  for (const [key, value] of new URLSearchParams(rawQuery(event))) {
    if (out.has(key)) throw new InvalidRequest(`The parameter ${named(key)} is given more than once.`)
    out.set(key, value)
  }
  return out
}

function bodyText (event: HttpEvent): string {
  const raw = event.body ?? ''
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new PayloadTooLarge(`The request body is larger than ${MAX_BODY_BYTES} bytes.`)
  return text
}

function bodyParams (event: HttpEvent): Map<string, string> {
  const text = bodyText(event)
  const out = new Map<string, string>()
  if (text.trim() === '') return out
  const type = (header(event, 'content-type') ?? '').split(';')[0].trim().toLowerCase()
  if (type === 'application/json') {
    let parsed: unknown
    try { parsed = JSON.parse(text) }
    catch { throw new InvalidRequest('The request body is not valid JSON.') }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new InvalidRequest('The JSON body must be an object, e.g. {"role":"deploy"}.')
    }
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
        throw new InvalidRequest(`The body parameter ${named(key)} must be a string or a number.`)
      }
      out.set(key, String(value))
    }
    const repeated = repeatedJsonKey(text)
    if (repeated !== undefined) throw new InvalidRequest(`The parameter ${named(repeated)} is given more than once.`)
    return out
  }
  if (type === 'application/x-www-form-urlencoded') {
    for (const [key, value] of new URLSearchParams(text)) {
      if (out.has(key)) throw new InvalidRequest(`The parameter ${named(key)} is given more than once.`)
      out.set(key, value)
    }
    return out
  }
  throw new InvalidRequest('Send parameters in the query string, or as a JSON or form-encoded body (Content-Type application/json or application/x-www-form-urlencoded).')
}

// One member of a flat JSON object: a string key, then a string or number value (what bodyParams has already checked).
const JSON_MEMBER = /\s*("(?:[^"\\]|\\.)*")\s*:\s*(?:"(?:[^"\\]|\\.)*"|-?[\d.eE+-]+)\s*([,}])/y

/**
 * The first key a flat JSON object gives twice, as JSON.parse decodes it. JSON.parse keeps the last silently, and a
 * proxy or log in front of the broker may read the first, so a repeated key is refused, as a repeated form field is.
 * Called once every value JSON.parse kept is a string or a number; an earlier value of a repeated key may still be
 * anything else (`{"role":null,"role":"deploy"}`), and a member the scan cannot read is refused, never skipped.
 */
function repeatedJsonKey (text: string): string | undefined {
  const start = text.indexOf('{') + 1
  if (/^\s*}/.test(text.slice(start))) return undefined
  const seen = new Set<string>()
  JSON_MEMBER.lastIndex = start
  for (;;) {
    const member = JSON_MEMBER.exec(text)
    if (!member) throw new InvalidRequest('The JSON body must be one object of strings and numbers, each key given once, e.g. {"role":"deploy"}.')
    const key = JSON.parse(member[1]) as string
    if (seen.has(key)) return key
    seen.add(key)
    if (member[2] === '}') return undefined
  }
}

/** The token from `Authorization`: `Bearer <jwt>`, or on GET the raw token as AWS SDKs send it. */
function bearerToken (event: HttpEvent, method: 'GET' | 'POST'): string {
  const value = header(event, 'authorization')
  if (value === undefined || value.trim() === '') {
    throw new InvalidToken('Send the GitLab ID token in the Authorization header: "Authorization: Bearer $ID_TOKEN".', { reason: 'missing' })
  }
  if (Buffer.byteLength(value) > MAX_TOKEN_BYTES + 16) throw new PayloadTooLarge(`The ID token is larger than ${MAX_TOKEN_BYTES} bytes.`)
  const match = /^Bearer +(\S+)$/i.exec(value.trim())
  if (match) return match[1]
  // `-H "Authorization: Bearer $BROKER_ID_TOKEN"` with the variable empty: the job's id_tokens: is missing or misnamed.
  if (/^Bearer$/i.test(value.trim())) {
    throw new InvalidToken('The Authorization header says "Bearer" but carries no token: is the job\'s ID token variable set (id_tokens: in .gitlab-ci.yml)?', { reason: 'missing' })
  }
  if (method === 'GET' && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+$/.test(value.trim())) return value.trim()
  throw new InvalidToken('The Authorization header must be "Bearer <GitLab ID token>" (one token, no other scheme).', { reason: 'missing' })
}

/** The answer format, read leniently so that even a rejected request is answered in the form its caller evals. */
export function responseFormat (event: HttpEvent, method: 'GET' | 'POST'): Format {
  if (method === 'GET') return 'container'
  // Lenient on purpose: a caller that asked for shell evals the answer, so even the error for a malformed request
  // (a repeated parameter, say) must come as a script that prints it and exits 1, not as JSON for the shell to run.
  if (new URLSearchParams(rawQuery(event)).getAll('format').includes('shell')) return 'shell'
  let body = ''
  try { body = bodyText(event) }
  catch { return 'json' }
  // The same in a body that does not parse (a repeated form field, broken JSON): asked for shell is answered in shell.
  return new URLSearchParams(body).getAll('format').includes('shell') || /"format"\s*:\s*"shell"/.test(body) || jsonFormat(body) === 'shell' ? 'shell' : 'json'
}

/** `format` of a JSON body that parses but was refused for another reason (an unknown key, say), however it is spelt. */
function jsonFormat (body: string): unknown {
  try {
    const parsed: unknown = JSON.parse(body)
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).format : undefined
  }
  catch { return undefined }
}

export function parseCredentialsRequest (event: HttpEvent, method: 'GET' | 'POST'): CredentialsRequest {
  // API Gateway routes each method to its own handler; a router that sends HEAD to GET (sandbox does) would otherwise
  // issue credentials, and take a maxUses slot, for an answer that carries no body.
  const asked = event.requestContext?.http?.method
  if (asked !== undefined && asked !== method) throw new MethodNotAllowed(`/credentials does not take ${asked.slice(0, 16)}; use GET or POST.`, ROUTES['/credentials'])
  const query = queryParams(event)
  const body = method === 'POST' ? bodyParams(event) : new Map<string, string>()
  if (method === 'GET' && bodyText(event).trim() !== '') throw new InvalidRequest('GET /credentials takes no body; put role in the query string.')
  const params = new Map(query)
  for (const [key, value] of body) {
    if (params.has(key)) throw new InvalidRequest(`The parameter ${named(key)} is given both in the query string and in the body.`)
    params.set(key, value)
  }
  for (const key of params.keys()) {
    if (!PARAMS[method].includes(key)) {
      const hint = key === 'format' ? ' GET always answers in the container-credentials format; use POST for json or shell.' : ''
      throw new InvalidRequest(`Unknown parameter ${named(key)}; ${method} /credentials takes ${PARAMS[method].join(', ')}.${hint}`)
    }
  }
  const role = params.get('role')
  if (role === undefined || role === '') throw new InvalidRequest('The "role" parameter is required: the name of the role your mapping grants, e.g. ?role=deploy.')
  if (!ROLE_NAME.test(role)) throw new InvalidRequest('The "role" parameter must be 1 to 64 letters, digits or _.@+=- starting with a letter or digit.')
  const durationText = params.get('duration')
  let duration: number | undefined
  if (durationText !== undefined) {
    if (!/^\d{1,5}$/.test(durationText) || Number(durationText) < MIN_DURATION || Number(durationText) > MAX_DURATION) {
      throw new InvalidRequest(`The "duration" parameter must be a whole number of seconds from ${MIN_DURATION} to ${MAX_DURATION}.`)
    }
    duration = Number(durationText)
  }
  const formatText = params.get('format')
  if (formatText !== undefined && formatText !== 'json' && formatText !== 'shell') {
    throw new InvalidRequest('The "format" parameter must be "json" or "shell".')
  }
  const format: Format = method === 'GET' ? 'container' : formatText === 'shell' ? 'shell' : 'json'
  const token = bearerToken(event, method)
  return { token, role, ...(duration !== undefined && { duration }), format }
}
