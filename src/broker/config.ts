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
  /** Sandbox only: the local DynamoDB. */
  readonly dynamoEndpoint?: string
  /** Where `credentials-issued` goes: sandbox's event bus, or the SNS topic Architect made for the event. */
  readonly events: EventsTarget
}

export type EventsTarget =
  | { readonly bus: string }
  | { readonly topicArn: string; readonly region: string; readonly endpoint: string }

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

/** Sandbox passes its ports as JSON in ARC_SANDBOX; never honoured in production. */
function sandboxPort (env: Env, service: 'tables' | 'events'): number | undefined {
  if (env.ARC_ENV === 'production' || !env.ARC_SANDBOX) return undefined
  try {
    const port: unknown = JSON.parse(env.ARC_SANDBOX)?.ports?.[service]
    return typeof port === 'number' ? port : undefined
  }
  catch { return undefined }
}

// arn:PARTITION:sns:REGION:ACCOUNT:NAME; AWS's DNS suffix per partition (aws-cn differs; other partitions set an endpoint).
const TOPIC_ARN = /^arn:(aws[a-z-]*):sns:([a-z0-9-]+):(\d{12}):([\w.-]{1,256})$/
const DNS_SUFFIX: Record<string, string> = { aws: 'amazonaws.com', 'aws-cn': 'amazonaws.com.cn', 'aws-us-gov': 'amazonaws.com' }

/**
 * Sandbox: its event bus. Elsewhere: the event's topic, which the deploy plugin names in BROKER_EVENTS_TOPIC, and the
 * SNS endpoint for its region (or the SDKs' own override variables, AWS_ENDPOINT_URL_SNS and AWS_ENDPOINT_URL).
 */
function eventsTarget (env: Env, sandbox: boolean): EventsTarget {
  if (sandbox) {
    const port = sandboxPort(env, 'events')
    if (port === undefined) bad('ARC_SANDBOX', 'has no events port (ports.events): is this sandbox older than Architect 10?')
    return { bus: `http://localhost:${port}/events` }
  }
  const topicArn = env.BROKER_EVENTS_TOPIC?.trim()
  if (!topicArn) return bad('BROKER_EVENTS_TOPIC', 'is required outside sandbox (the deploy plugin sets it): the credentials-issued SNS topic ARN')
  const match = TOPIC_ARN.exec(topicArn)
  if (!match) return bad('BROKER_EVENTS_TOPIC', `is not an SNS topic ARN: "${topicArn}"`)
  const [, partition, region] = match
  const override = env.AWS_ENDPOINT_URL_SNS?.trim() || env.AWS_ENDPOINT_URL?.trim()
  let endpoint: string
  if (override) {
    try { endpoint = new URL(override).href }
    catch { return bad(env.AWS_ENDPOINT_URL_SNS?.trim() ? 'AWS_ENDPOINT_URL_SNS' : 'AWS_ENDPOINT_URL', `is not a URL: "${override}"`) }
  }
  else if (DNS_SUFFIX[partition]) endpoint = `https://sns.${region}.${DNS_SUFFIX[partition]}/`
  else return bad('BROKER_EVENTS_TOPIC', `is in the ${partition} partition: set AWS_ENDPOINT_URL_SNS to its SNS endpoint`)
  return { topicArn, region, endpoint }
}

export function loadConfig (env: Env = process.env): Config {
  const allowHttpIssuers = flag(env, 'BROKER_ALLOW_HTTP_ISSUERS')
  if (allowHttpIssuers && env.ARC_ENV === 'production') bad('BROKER_ALLOW_HTTP_ISSUERS', 'is refused when ARC_ENV=production')
  const issuerList = (env.BROKER_ISSUERS ?? '').split(',').map(s => s.trim()).filter(Boolean)
  if (issuerList.length === 0) bad('BROKER_ISSUERS', 'is required: the comma-separated issuer URLs to trust, e.g. https://gitlab.com')
  const issuers = issuerList.map(i => parseIssuer(i, allowHttpIssuers))
  const audience = env.BROKER_AUDIENCE?.trim()
  if (!audience) bad('BROKER_AUDIENCE', 'is required: the "aud" tokens must carry (the broker\'s own URL)')
  let stsEndpoint = env.BROKER_STS_ENDPOINT?.trim() || undefined
  if (stsEndpoint) {
    try { stsEndpoint = new URL(stsEndpoint).href.replace(/\/$/, '') }
    catch { bad('BROKER_STS_ENDPOINT', `is not a URL: "${stsEndpoint}"`) }
  }
  const tablesPort = sandboxPort(env, 'tables')
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
    ...(tablesPort !== undefined && { dynamoEndpoint: `http://localhost:${tablesPort}` }),
    events: Object.freeze(eventsTarget(env, tablesPort !== undefined)),
  })
}
