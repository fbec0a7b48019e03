// The broker's configuration: read once from the environment at cold start (DESIGN §3).
// A bad variable is a TypeError naming it; deciding what to answer meanwhile is the handlers'.
import { MAX_DURATION, MIN_DURATION } from './role'

export interface Config {
  /** Exact issuer URLs trusted; discovery and JWKS are fetched only for these. */
  readonly issuers: readonly string[]
  /** Of those, the ones whose keys come from the issuer-keys table alone: never sent a request (a GitLab behind a firewall). */
  readonly tableOnlyIssuers: readonly string[]
  readonly audience: string
  readonly maxDuration: number
  readonly stsEndpoint?: string
  readonly allowHttpIssuers: boolean
  readonly auditRetentionDays: number
  readonly region: string
  readonly tables: { readonly mappings: string; readonly audit: string; readonly issuerKeys: string }
  /** Local runs only: the local DynamoDB (sandbox's, or BROKER_DYNAMODB_ENDPOINT); never in production. */
  readonly dynamoEndpoint?: string
}

/** Where `credentials-issued` goes (loadEventsTarget): sandbox's event bus, or the SNS topic Architect made for it. */
export type EventsTarget =
  /** Sandbox's event bus; undefined when ARC_SANDBOX names no events port (then every publish fails, and says why). */
  | { readonly bus: string | undefined }
  | { readonly topicArn: string; readonly region: string; readonly endpoint: string }

type Env = Readonly<Record<string, string | undefined>>

/** The app's name when nothing else names it (ARC_APP_NAME, the CLI's --app or app.arc's @app): app.arc's own. */
export const DEFAULT_APP = 'tanuki-sts'

/** The region the SDK clients use: as the AWS SDKs and CLI read it, and us-east-1 when nothing sets one (local runs). */
export function awsRegion (env: Env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'
}

/** Sandbox's names for an app's tables: it runs the staging environment's, `<app>-staging-<table>`. */
export function sandboxTables (app: string): Config['tables'] {
  return { mappings: `${app}-staging-mappings`, audit: `${app}-staging-audit`, issuerKeys: `${app}-staging-issuer-keys` }
}

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

/** A URL as it may appear in a message (logs): any user:password@ in it masked. */
const redacted = (text: string) => text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, '$1***@')

export function parseIssuer (text: string, allowHttp: boolean, name = 'BROKER_ISSUERS'): string {
  const shown = redacted(text)
  let url: URL
  try { url = new URL(text) }
  catch { return bad(name, `has "${shown}", which is not a URL`) }
  if (url.protocol === 'http:' && !allowHttp) bad(name, `has "${shown}": http:// issuers need BROKER_ALLOW_HTTP_ISSUERS (local runs only)`)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') bad(name, `has "${shown}": issuers are https:// URLs`)
  // Exactly as tokens carry it: a spelling that URL parsing would change (a case, a default port, an empty query or
  // fragment, a trailing slash) can never equal a token's iss, so every request would be refused without saying why.
  const canonical = url.origin + url.pathname.replace(/\/+$/, '')
  if (url.username || url.password) bad(name, `has an issuer with credentials in it (${canonical}); an issuer URL carries none`)
  if (url.search || url.hash || canonical !== text || text.endsWith('/')) {
    bad(name, `has "${text}": write the issuer exactly as its tokens' "iss", e.g. "${canonical}" (no trailing slash, query, fragment, default port or upper-case host)`)
  }
  return text
}

/**
 * BROKER_TABLE_ONLY_ISSUERS: trusted issuers (each also in BROKER_ISSUERS, which alone says whom to trust) whose keys
 * the broker reads from its issuer-keys table and never fetches: a GitLab it cannot reach. Same spelling rules.
 */
function tableOnlyIssuers (env: Env, issuers: readonly string[], allowHttp: boolean): string[] {
  const list = (env.BROKER_TABLE_ONLY_ISSUERS ?? '').split(',').map(s => s.trim()).filter(Boolean)
  return list.map(text => {
    const issuer = parseIssuer(text, allowHttp, 'BROKER_TABLE_ONLY_ISSUERS')
    if (!issuers.includes(issuer)) {
      bad('BROKER_TABLE_ONLY_ISSUERS', `has "${issuer}", which is not in BROKER_ISSUERS: list it there too (BROKER_ISSUERS says which issuers are trusted; this says their keys come from the table alone)`)
    }
    return issuer
  })
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

/**
 * The audience is the broker's own URL. A trusted issuer's URL is the audience GitLab's docs and the classic AWS OIDC
 * setup (`aud: https://gitlab.com`) give tokens meant for other services: as ours, every such token would be honoured.
 */
function refuseIssuerAudience (audience: string, issuers: readonly string[]): void {
  const spelling = (url: string) => url.toLowerCase().replace(/\/+$/, '')
  const issuer = issuers.find(i => spelling(i) === spelling(audience))
  if (issuer) {
    bad('BROKER_AUDIENCE', `is the URL of the trusted issuer ${issuer}, the audience tokens made for other services (e.g. AWS's OIDC setup) ` +
      'carry: they would be accepted here. Set it to the broker\'s own URL, and the jobs\' id_tokens aud to the same')
  }
}

/** An endpoint override (local runs and tests): a URL, without its trailing slash. */
function endpoint (env: Env, name: string): string | undefined {
  const text = env[name]?.trim()
  if (!text) return undefined
  try { return new URL(text).href.replace(/\/$/, '') }
  catch { return bad(name, `is not a URL: "${redacted(text)}"`) }
}

/**
 * A stack `arc deploy` made: it sets ARC_ENV to staging or production (sandbox's is testing). Staging is a broker in AWS
 * too, with the same target roles: what production refuses, it refuses.
 */
function deployed (env: Env): boolean {
  return env.ARC_ENV === 'staging' || env.ARC_ENV === 'production'
}

/**
 * A deployed stack reaches AWS over TLS only. The broker's STS override and the SDK's own endpoint variables, which its clients
 * (and the SNS publisher) honour by themselves, may name a regional, FIPS or VPC endpoint, never an http:// one: every
 * request carries the Lambda role's session token, AssumeRole's answer holds the issued credentials, and the mappings
 * read from DynamoDB decide what is granted. (The value is not quoted here: it may hold credentials.)
 */
const AWS_ENDPOINT_VARIABLES = ['BROKER_STS_ENDPOINT', 'AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SNS', 'AWS_ENDPOINT_URL'] as const
function refuseCleartextEndpoints (env: Env): void {
  if (!deployed(env)) return
  for (const name of AWS_ENDPOINT_VARIABLES) {
    const text = env[name]?.trim()
    if (text && !/^https:\/\//i.test(text)) bad(name, `must be an https:// URL in a deployed stack (ARC_ENV=${env.ARC_ENV}): requests to AWS (the role\'s session token, the credentials STS issues, the mappings) must not cross the network in clear`)
  }
}

/** Sandbox passes its ports as JSON in ARC_SANDBOX; never honoured in a deployed stack. */
function sandboxPort (env: Env, service: 'tables' | 'events'): number | undefined {
  if (deployed(env) || !env.ARC_SANDBOX) return undefined
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
 * Where the credentials Lambdas publish, read apart from loadConfig (only they publish; the CLI and the event Lambda
 * load the rest). Sandbox: its event bus. Elsewhere: the event's topic, which the deploy plugin names in
 * BROKER_EVENTS_TOPIC, and the SNS endpoint for its region (or the SDKs' override variables, AWS_ENDPOINT_URL_SNS and
 * AWS_ENDPOINT_URL). A bad variable is a TypeError naming it, as loadConfig's are.
 */
export function loadEventsTarget (env: Env = process.env): EventsTarget {
  if (sandboxPort(env, 'tables') !== undefined) {
    const port = sandboxPort(env, 'events')
    return Object.freeze({ bus: port === undefined ? undefined : `http://localhost:${port}/events` })
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
    catch { return bad(env.AWS_ENDPOINT_URL_SNS?.trim() ? 'AWS_ENDPOINT_URL_SNS' : 'AWS_ENDPOINT_URL', `is not a URL: "${redacted(override)}"`) }
  }
  else if (DNS_SUFFIX[partition]) endpoint = `https://sns.${region}.${DNS_SUFFIX[partition]}/`
  else return bad('BROKER_EVENTS_TOPIC', `is in the ${partition} partition: set AWS_ENDPOINT_URL_SNS to its SNS endpoint`)
  return Object.freeze({ topicArn, region, endpoint })
}

export function loadConfig (env: Env = process.env): Config {
  const allowHttpIssuers = flag(env, 'BROKER_ALLOW_HTTP_ISSUERS')
  if (allowHttpIssuers && deployed(env)) bad('BROKER_ALLOW_HTTP_ISSUERS', `is refused in a deployed stack (ARC_ENV=${env.ARC_ENV}): it is for local runs`)
  const issuerList = (env.BROKER_ISSUERS ?? '').split(',').map(s => s.trim()).filter(Boolean)
  if (issuerList.length === 0) bad('BROKER_ISSUERS', 'is required: the comma-separated issuer URLs to trust, e.g. https://gitlab.com')
  const issuers = issuerList.map(i => parseIssuer(i, allowHttpIssuers))
  refuseOverlappingIssuers(issuers)
  const tableOnly = tableOnlyIssuers(env, issuers, allowHttpIssuers)
  const audience = env.BROKER_AUDIENCE?.trim()
  if (!audience) bad('BROKER_AUDIENCE', 'is required: the "aud" tokens must carry (the broker\'s own URL)')
  refuseIssuerAudience(audience, issuers)
  refuseCleartextEndpoints(env)
  const stsEndpoint = endpoint(env, 'BROKER_STS_ENDPOINT')
  // The broker's DynamoDB (local runs, fault tests); production always uses AWS's, as it does its issuers over https.
  const dynamoOverride = endpoint(env, 'BROKER_DYNAMODB_ENDPOINT')
  if (dynamoOverride && deployed(env)) bad('BROKER_DYNAMODB_ENDPOINT', `is refused in a deployed stack (ARC_ENV=${env.ARC_ENV}): it is for local runs`)
  const tablesPort = sandboxPort(env, 'tables')
  const dynamoEndpoint = dynamoOverride ?? (tablesPort !== undefined ? `http://localhost:${tablesPort}` : undefined)
  const sandbox = sandboxTables(env.ARC_APP_NAME ?? DEFAULT_APP)
  const table = (name: string, logical: keyof Config['tables']): string => {
    const value = env[name]?.trim()
    if (value) return value
    // In sandbox, sandbox's names; a deployed stack gets them from the deploy plugin.
    if (tablesPort !== undefined) return sandbox[logical]
    return bad(name, 'is required outside sandbox (the deploy plugin sets it)')
  }
  return Object.freeze({
    issuers: Object.freeze(issuers),
    tableOnlyIssuers: Object.freeze(tableOnly),
    audience,
    maxDuration: integer(env, 'BROKER_MAX_DURATION', MAX_DURATION, MIN_DURATION, MAX_DURATION),
    ...(stsEndpoint && { stsEndpoint }),
    allowHttpIssuers,
    auditRetentionDays: integer(env, 'BROKER_AUDIT_RETENTION_DAYS', 400, 1, 3650),
    region: awsRegion(env),
    tables: Object.freeze({
      mappings: table('BROKER_TABLE_MAPPINGS', 'mappings'),
      audit: table('BROKER_TABLE_AUDIT', 'audit'),
      issuerKeys: table('BROKER_TABLE_ISSUER_KEYS', 'issuerKeys'),
    }),
    ...(dynamoEndpoint && { dynamoEndpoint }),
  })
}
