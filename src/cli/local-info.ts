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
