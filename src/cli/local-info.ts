// What `npm start` leaves in .tanuki/local.json (src/local/start.ts): where each piece of the running local broker
// listens and the audience its tokens carry, so `--local`, `token mint` and `explain` find that broker, not defaults.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface LocalInfo {
  brokerUrl?: string
  issuerUrl?: string
  stsUrl?: string
  audience?: string
  /** Sandbox's DynamoDB port (ARC_TABLES_PORT when it started). */
  tablesPort?: number
}

/** npm start's audience on its default port: what --local assumes when no local.json says otherwise. */
export const DEFAULT_LOCAL_AUDIENCE = 'http://localhost:3333'

export function readLocalInfo (cwd = process.cwd()): LocalInfo {
  try {
    const info: unknown = JSON.parse(readFileSync(join(cwd, '.tanuki', 'local.json'), 'utf8'))
    return typeof info === 'object' && info !== null ? info as LocalInfo : {}
  }
  catch { return {} }
}

/** The local issuer's default URL (npm start's TANUKI_ISSUER_PORT 4100). */
export const DEFAULT_ISSUER_URL = 'http://127.0.0.1:4100'

/** The local issuer: $TANUKI_ISSUER_URL, else what `npm start` recorded, else its default port. */
export function localIssuerUrl (env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return env.TANUKI_ISSUER_URL || readLocalInfo(cwd).issuerUrl || DEFAULT_ISSUER_URL
}

/**
 * The issuers the target's broker trusts, as far as the CLI can know them: --issuer if given, else $BROKER_ISSUERS,
 * else (with --local) the local issuer; none when unknown. explain, audit list and apply all read them this way.
 */
export function trustedIssuers (opts: { issuer?: string | readonly string[]; local?: boolean }, env: NodeJS.ProcessEnv = process.env): string[] {
  const given = [opts.issuer ?? []].flat()
  if (given.length > 0) return given
  const configured = (env.BROKER_ISSUERS ?? '').split(',').map(s => s.trim()).filter(Boolean)
  if (configured.length > 0) return configured
  return opts.local ? [localIssuerUrl(env)] : []
}
