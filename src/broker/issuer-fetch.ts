// Fetches a trusted issuer's keys from the issuer itself: its discovery document, then the JWK set at its jwks_uri,
// each capped, on the issuer's own origin, and checked by parseKeySet. When to fetch is key-ring.ts's; the CLI uses it too.
import { FetchRefused, KeySetInvalid, Unavailable } from './errors'
import { fetchCapped } from './fetch-capped'
import { parseKeySet } from './key-set'
import type { KeySet } from './key-set'

/** After a failed discovery, wait this long before asking the issuer again (a flood must not become our flood). */
export const DISCOVERY_COOLDOWN_MS = 30_000
/** Where GitLab serves its discovery document (OpenID Connect Discovery 1.0 §4), under the issuer URL. */
export const DISCOVERY_PATH = '/.well-known/openid-configuration'

/** Requests sent to issuers: a seam for tests and benchmarks to count them. */
export interface IssuerFetchStats { discovery: number; jwks: number }

export interface FetchedKeys {
  readonly set: KeySet
  /** Keys of the set that are not RS256 signing keys, left out (named for the CLI). */
  readonly skipped: readonly string[]
  /** Where the set came from: the issuer's jwks_uri. */
  readonly source: string
}

export interface IssuerFetcher {
  /** The issuer's current key set; a failure is Unavailable (an issuer outage is never the caller's fault). */
  keys (issuer: string): Promise<FetchedKeys>
  readonly stats: IssuerFetchStats
}

type Discovered = { jwksUri: string } | { failedAt: number; error: Unavailable }
interface DiscoveryEntry { readonly pending: Promise<Discovered>; settled?: Discovered }

const detail = (cause: unknown) => cause instanceof KeySetInvalid ? `the key set is refused: ${cause.message}` : cause instanceof Error ? cause.message : String(cause)

async function readJson (url: string): Promise<unknown> {
  const response = await fetchCapped(url)
  try { return await response.json() }
  catch (cause) { throw new FetchRefused(`${url} is not JSON`, { cause }) }
}

/** The jwks_uri a discovery document names, if it is the issuer's own and on its origin. */
async function discover (issuer: string): Promise<string> {
  const doc = await readJson(`${issuer}${DISCOVERY_PATH}`)
  if (typeof doc !== 'object' || doc === null) throw new FetchRefused('the discovery document is not a JSON object')
  const { issuer: named, jwks_uri: jwksUri } = doc as Record<string, unknown>
  if (named !== issuer) throw new FetchRefused(`the discovery document names issuer ${JSON.stringify(named)}`)
  if (typeof jwksUri !== 'string') throw new FetchRefused('the discovery document has no jwks_uri')
  let jwks: URL
  try { jwks = new URL(jwksUri) }
  catch { throw new FetchRefused(`jwks_uri ${JSON.stringify(jwksUri)} is not a URL`) }
  // The keys must come from the issuer's own origin: a discovery document cannot send us elsewhere.
  if (jwks.origin !== new URL(issuer).origin) throw new FetchRefused(`jwks_uri ${jwksUri} is not on the issuer's origin`)
  return jwks.href
}

/**
 * A fetcher whose discovery result is kept for the container's life (a failure for DISCOVERY_COOLDOWN_MS, in which a
 * burst of requests starts no new discovery). `clock`: milliseconds since the epoch, a seam for tests.
 */
export function createIssuerFetcher (clock: () => number = Date.now): IssuerFetcher {
  const stats: IssuerFetchStats = { discovery: 0, jwks: 0 }
  const discovered = new Map<string, DiscoveryEntry>()

  async function settle (issuer: string): Promise<Discovered> {
    stats.discovery++
    try { return { jwksUri: await discover(issuer) } }
    catch (cause) {
      return {
        failedAt: clock(),
        error: new Unavailable(`The token issuer ${issuer} could not be reached for its discovery document; try again shortly.`, { cause, detail: detail(cause) }),
      }
    }
  }

  async function jwksUri (issuer: string): Promise<string> {
    // Decided synchronously, so a burst of requests after a failure's cooldown starts one discovery, not one each.
    let entry = discovered.get(issuer)
    const settled = entry?.settled
    if (!entry || (settled && 'failedAt' in settled && clock() - settled.failedAt > DISCOVERY_COOLDOWN_MS)) {
      const fresh: DiscoveryEntry = { pending: settle(issuer) }
      fresh.pending.then(result => { fresh.settled = result }, () => undefined)
      discovered.set(issuer, fresh)
      entry = fresh
    }
    const result = await entry.pending
    if ('error' in result) throw result.error
    return result.jwksUri
  }

  return {
    stats,
    async keys (issuer) {
      const source = await jwksUri(issuer)
      stats.jwks++
      try {
        const { set, skipped } = parseKeySet(await readJson(source))
        return { set, skipped, source }
      }
      catch (cause) {
        throw new Unavailable(`The token issuer's keys could not be fetched from ${issuer}; try again shortly.`, { cause, detail: detail(cause) })
      }
    },
  }
}
