// The broker's configuration: read once from the environment at cold start (DESIGN §3).
// A bad variable is a TypeError naming it; deciding what to answer meanwhile is the handlers'.
import { MAX_DURATION, MIN_DURATION } from './policy'

export interface Config {
  /** Exact issuer URLs trusted; discovery and JWKS are fetched only for these. */
  readonly issuers: readonly string[]
  readonly audience: string
  readonly maxDuration: number
  readonly stsEndpoint?: string
  readonly allowHttpIssuers: boolean
  readonly auditRetentionDays: number
  readonly region: string
  readonly tables: { readonly mappings: string; readonly audit: string }
  /** Local runs only: the local DynamoDB (sandbox's, or BROKER_DYNAMODB_ENDPOINT); never in production. */
  readonly dynamoEndpoint?: string
}

type Env = Readonly<Record<string, string | undefined>>

function bad (name: string, why: string): never {
  throw new TypeError(`${name} ${why}`)
}

function integer (env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) bad(name, `must be a whole number from ${min} to ${max}, got "${text}"`)
  return Number(text)
}

function flag (env: Env, name: string): boolean {
  const text = (env[name] ?? '').toLowerCase()
  if (['', '0', 'false', 'no', 'off'].includes(text)) return false
  if (['1', 'true', 'yes', 'on'].includes(text)) return true
  return bad(name, `must be true or false, got "${env[name]}"`)
}

function parseIssuer (text: string, allowHttp: boolean): string {
  let url: URL
  try { url = new URL(text) }
  catch { return bad('BROKER_ISSUERS', `has "${text}", which is not a URL`) }
  if (url.protocol === 'http:' && !allowHttp) bad('BROKER_ISSUERS', `has "${text}": http:// issuers need BROKER_ALLOW_HTTP_ISSUERS (local runs only)`)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') bad('BROKER_ISSUERS', `has "${text}": issuers are https:// URLs`)
  if (url.search || url.hash || url.username || text.endsWith('/')) {
    bad('BROKER_ISSUERS', `has "${text}": write the issuer exactly as its tokens' "iss" (no trailing slash, query or fragment)`)
  }
  return text
}

/**
 * A scope is `<issuer>/<project path>`, so no trusted issuer may be a path prefix of another: with both
 * `https://host` and `https://host/gitlab`, the first one's project `gitlab/acme/api` would have the second one's scopes.
 */
function refuseOverlappingIssuers (issuers: readonly string[]): void {
  for (const a of issuers) {
    for (const b of issuers) {
      if (b.toLowerCase().startsWith(a.toLowerCase() + '/')) {
        bad('BROKER_ISSUERS', `has "${a}" and "${b}": one issuer's projects would share the other's mapping scopes (${b}/... is also ${a}/...)`)
      }
    }
  }
}

/** An endpoint override (local runs and tests): a URL, without its trailing slash. */
function endpoint (env: Env, name: string): string | undefined {
  const text = env[name]?.trim()
  if (!text) return undefined
  try { return new URL(text).href.replace(/\/$/, '') }
  catch { return bad(name, `is not a URL: "${text}"`) }
}

/** Sandbox passes its ports as JSON in ARC_SANDBOX; never honoured in production. */
function sandboxTablesPort (env: Env): number | undefined {
  if (env.ARC_ENV === 'production' || !env.ARC_SANDBOX) return undefined
  try {
    const port: unknown = JSON.parse(env.ARC_SANDBOX)?.ports?.tables
    return typeof port === 'number' ? port : undefined
  }
  catch { return undefined }
}

export function loadConfig (env: Env = process.env): Config {
  const allowHttpIssuers = flag(env, 'BROKER_ALLOW_HTTP_ISSUERS')
  if (allowHttpIssuers && env.ARC_ENV === 'production') bad('BROKER_ALLOW_HTTP_ISSUERS', 'is refused when ARC_ENV=production')
  const issuerList = (env.BROKER_ISSUERS ?? '').split(',').map(s => s.trim()).filter(Boolean)
  if (issuerList.length === 0) bad('BROKER_ISSUERS', 'is required: the comma-separated issuer URLs to trust, e.g. https://gitlab.com')
  const issuers = issuerList.map(i => parseIssuer(i, allowHttpIssuers))
  refuseOverlappingIssuers(issuers)
  const audience = env.BROKER_AUDIENCE?.trim()
  if (!audience) bad('BROKER_AUDIENCE', 'is required: the "aud" tokens must carry (the broker\'s own URL)')
  const stsEndpoint = endpoint(env, 'BROKER_STS_ENDPOINT')
  // The broker's DynamoDB (local runs, fault tests); production always uses AWS's, as it does its issuers over https.
  const dynamoOverride = endpoint(env, 'BROKER_DYNAMODB_ENDPOINT')
  if (dynamoOverride && env.ARC_ENV === 'production') bad('BROKER_DYNAMODB_ENDPOINT', 'is refused when ARC_ENV=production (it is for local runs)')
  const tablesPort = sandboxTablesPort(env)
  const dynamoEndpoint = dynamoOverride ?? (tablesPort !== undefined ? `http://localhost:${tablesPort}` : undefined)
  const app = env.ARC_APP_NAME ?? 'tanuki-sts'
  const table = (name: string, logical: string): string => {
    const value = env[name]?.trim()
    if (value) return value
    // Sandbox names its tables `${app}-staging-${name}`; a deployed stack gets them from the deploy plugin.
    if (tablesPort !== undefined) return `${app}-staging-${logical}`
    return bad(name, 'is required outside sandbox (the deploy plugin sets it)')
  }
  return Object.freeze({
    issuers: Object.freeze(issuers),
    audience,
    maxDuration: integer(env, 'BROKER_MAX_DURATION', MAX_DURATION, MIN_DURATION, MAX_DURATION),
    ...(stsEndpoint && { stsEndpoint }),
    allowHttpIssuers,
    auditRetentionDays: integer(env, 'BROKER_AUDIT_RETENTION_DAYS', 400, 1, 3650),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    tables: Object.freeze({ mappings: table('BROKER_TABLE_MAPPINGS', 'mappings'), audit: table('BROKER_TABLE_AUDIT', 'audit') }),
    ...(dynamoEndpoint && { dynamoEndpoint }),
  })
}
