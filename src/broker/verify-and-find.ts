// The start of every request: verify the token, and read the mappings that could apply to it. A cold container reads
// its issuer's keys and the candidate mappings in one round trip, then verifies; nothing read is used before that.
// What the mappings decide is match.ts's (exchange.ts calls it); the keys are key-ring.ts's, the batch batch-read.ts's.
import { parseGitLabClaims } from './claims'
import type { BatchReader } from './batch-read'
import { InvalidToken } from './errors'
import type { MappingStore, StoredMapping } from './mappings'
import { candidateScopes } from './scope'
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
    // parseGitLabClaims bounds the path's depth (as GitLab nests), so the candidates fit one BatchGetItem.
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
    // A cold container reads its issuer's keys with the mappings of the scopes the payload claims. The scopes come from
    // the unverified payload only to say which items to read: the mappings are looked at after the signature
    // verifies, and only if the verified claims name the very same scopes (else they are read again).
    let claimed: string[] = []
    const read = await verifier.keys.readStoredWith(unverified.issuer, () => {
      claimed = claimedScopes(unverified.payload)
      return readTogether({ issuer: unverified.issuer, scopes: claimed, role })
    })
    const token = await verifier.verifyRead(unverified, now)
    const scopes = candidateScopes(token.claims.iss, token.claims.project_path)
    const found = read && same(claimed, scopes) ? read.mappings : await mappings.find(scopes, role)
    return { token, scopes, found }
  }
}
