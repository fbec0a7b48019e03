// The start of every request: verify the token, and read the mappings that could apply to it. A cold container reads
// its issuer's keys and the candidate mappings in one round trip, then verifies; nothing read is used before that.
// What the mappings decide is policy.ts's (exchange.ts calls it); the keys are key-ring.ts's, the batch batch-read.ts's.
import { parseGitLabClaims } from './claims'
import type { BatchReader } from './batch-read'
import { InvalidToken } from './errors'
import type { MappingStore, StoredMapping } from './mappings'
import { candidateScopes } from './policy'
import type { TokenVerifier, VerifiedToken } from './token'

export interface VerifiedAndFound {
  readonly token: VerifiedToken
  /** The verified claims' candidate scopes, most specific first. */
  readonly scopes: readonly string[]
  /** What the mappings table holds for the role at those scopes. */
  readonly found: ReadonlyMap<string, StoredMapping>
}

export type VerifyAndFind = (jwt: string, role: string, now: Date) => Promise<VerifiedAndFound>

/** The candidate scopes an (unverified) payload names, or none if it is not a GitLab claim set. */
function claimedScopes (payload: Readonly<Record<string, unknown>>): string[] {
  try {
    const claims = parseGitLabClaims(payload)
    return candidateScopes(claims.iss, claims.project_path)
  }
  catch (err) {
    if (err instanceof InvalidToken) return []
    throw err
  }
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s, i) => s === b[i])

export function createVerifyAndFind (deps: { verifier: TokenVerifier; mappings: MappingStore; readTogether: BatchReader }): VerifyAndFind {
  const { verifier, mappings, readTogether } = deps
  return async function verifyAndFind (jwt, role, now) {
    // Size, shape, algorithm and a trusted issuer: refused here with no I/O at all.
    const unverified = verifier.read(jwt)
    let speculative: { scopes: string[]; found: ReadonlyMap<string, StoredMapping> } | undefined
    if (verifier.keys.wantsStored(unverified.issuer)) {
      // The scopes come from the unverified payload only to say which items to read with the keys: the mappings
      // are looked at after the signature verifies, and only if the verified claims name the very same scopes.
      const scopes = claimedScopes(unverified.payload)
      const read = await readTogether({ issuer: unverified.issuer, scopes, role })
      verifier.keys.accept(unverified.issuer, read.keys)
      speculative = { scopes, found: read.mappings }
    }
    const token = await verifier.verifyRead(unverified, now)
    const scopes = candidateScopes(token.claims.iss, token.claims.project_path)
    const found = speculative && same(speculative.scopes, scopes) ? speculative.found : await mappings.find(scopes, role)
    return { token, scopes, found }
  }
}
