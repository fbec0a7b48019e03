// The console's configuration, read once at cold start from the environment (`arc env`, `.env` in sandbox): the OAuth
// application registered in GitLab, the console's URL, who may view and edit, and the session key. A bad or missing
// variable is a TypeError naming it (the console then answers 503 and logs it); the broker's own variables are config.ts's.
import { loadConfig } from '../broker/config'
import type { Config } from '../broker/config'
import { parseMembers } from './access'
import type { Access } from './access'

export interface ConsoleConfig {
  readonly broker: Config
  /** The GitLab users sign in with: one of BROKER_ISSUERS. */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** The console's public URL, e.g. https://sts.example.com/console; its origin is the only one forms may come from. */
  readonly url: string
  readonly origin: string
  /** `${url}/oauth/callback`: registered in GitLab as the application's redirect URI. */
  readonly redirectUri: string
  readonly access: Access
  /** A deployed stack (ARC_ENV staging or production): https only, Secure cookies. */
  readonly deployed: boolean
}

type Env = Readonly<Record<string, string | undefined>>

function bad (name: string, why: string): never {
  throw new TypeError(`${name} ${why}`)
}

/** Architect's session key: the first 32 characters of ARC_APP_SECRET are the AES-256-GCM key of the session cookie. */
export const APP_SECRET_LENGTH = 32

function consoleUrl (env: Env, broker: Config, deployed: boolean): URL {
  const text = env.CONSOLE_URL?.trim() || `${broker.audience.replace(/\/+$/, '')}/console`
  let url: URL
  try { url = new URL(text) }
  catch { return bad('CONSOLE_URL', `is not a URL: "${text}" (the console's address, e.g. https://sts.example.com/console)`) }
  // Pages link to /console/...: the console lives at that path of its host, not under another prefix.
  if (url.pathname !== '/console' || url.search || url.hash || url.username || url.password) {
    bad('CONSOLE_URL', `must be the console's address, https://HOST/console, with no other path, query, fragment or credentials: "${text}"`)
  }
  // Session cookies are Secure in a deployed stack: the console is unusable, and its cookies unsafe, over http.
  if (url.protocol !== 'https:' && (deployed || url.protocol !== 'http:')) bad('CONSOLE_URL', `must be https:// in a deployed stack: "${text}"`)
  return url
}

function consoleIssuer (env: Env, broker: Config): string {
  const named = env.CONSOLE_ISSUER?.trim()
  if (named) {
    if (!broker.issuers.includes(named)) {
      bad('CONSOLE_ISSUER', `is "${named}", which is not one of BROKER_ISSUERS (${broker.issuers.join(', ')}): users sign in with a GitLab the broker trusts`)
    }
    return named
  }
  if (broker.issuers.length !== 1) {
    bad('CONSOLE_ISSUER', `is required when BROKER_ISSUERS names several issuers: which GitLab do users sign in with? (${broker.issuers.join(', ')})`)
  }
  return broker.issuers[0]
}

/** Whether the console is set up at all: without an OAuth application it stays off (404), and says so in the log once. */
export function consoleEnabled (env: Env = process.env): boolean {
  return Boolean(env.CONSOLE_CLIENT_ID?.trim())
}

export function loadConsoleConfig (env: Env = process.env): ConsoleConfig {
  const broker = loadConfig(env)
  const deployed = env.ARC_ENV === 'staging' || env.ARC_ENV === 'production'
  const clientId = env.CONSOLE_CLIENT_ID?.trim()
  if (!clientId) bad('CONSOLE_CLIENT_ID', 'is required: the Application ID of the OAuth application registered in GitLab for the console')
  const clientSecret = env.CONSOLE_CLIENT_SECRET?.trim()
  if (!clientSecret) {
    bad('CONSOLE_CLIENT_SECRET', 'is required: the Secret of the OAuth application registered in GitLab (set it with `arc env`, never in the repository)')
  }
  // Without it, Architect encrypts sessions with a key everyone knows; shorter, it refuses to start.
  const secret = env.ARC_APP_SECRET ?? ''
  if (secret.length < APP_SECRET_LENGTH) {
    bad('ARC_APP_SECRET',
      `must be at least ${APP_SECRET_LENGTH} random characters: it encrypts the console's session cookies (e.g. \`openssl rand -base64 33\`)`)
  }
  if (env.ARC_SESSION_TABLE_NAME && env.ARC_SESSION_TABLE_NAME !== 'jwe') {
    bad('ARC_SESSION_TABLE_NAME', 'must be jwe (or unset): the console keeps its sessions in encrypted cookies')
  }
  const url = consoleUrl(env, broker, deployed)
  const base = url.href.replace(/\/+$/, '')
  const access = { viewers: parseMembers('CONSOLE_VIEWERS', env.CONSOLE_VIEWERS), editors: parseMembers('CONSOLE_EDITORS', env.CONSOLE_EDITORS) }
  return Object.freeze({
    broker,
    issuer: consoleIssuer(env, broker),
    clientId,
    clientSecret,
    url: base,
    origin: url.origin,
    redirectUri: `${base}/oauth/callback`,
    access,
    deployed,
  })
}
