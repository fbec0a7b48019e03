// Hand-built JWS for attack cases: any header, any payload, signed by any RSA key, so each case changes exactly one thing.
// The local issuer mints the well-formed tokens (src/local/issuer.ts); this file only breaks them.
import { exportJWK, generateKeyPair } from 'jose'
import type { CryptoKey, JWK } from 'jose'

export const b64url = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url')
export const segment = (value: unknown): string => b64url(JSON.stringify(value))

/** The decoded header and payload of a compact JWS (no checks: the token is ours). */
export function decode (token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [h, p, s] = token.split('.')
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), payload: JSON.parse(Buffer.from(p, 'base64url').toString()), signature: s }
}

/** RS256 over `header.payload` as given (any text), with any RSA private key: what an attacker or a tamperer can build. */
export async function signRs256 (header: unknown, payload: unknown, key: CryptoKey, raw = false): Promise<string> {
  const input = raw ? `${b64url(String(header))}.${b64url(String(payload))}` : `${segment(header)}.${segment(payload)}`
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(input))
  return `${input}.${b64url(new Uint8Array(signature))}`
}

export interface Attacker {
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
  /** The public key's SubjectPublicKeyInfo, base64 (standing in for an x5c certificate). */
  readonly spki: string
}

/** A key pair nobody trusts: what forged tokens are signed with. */
export async function attackerKey (): Promise<Attacker> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
  const spki = Buffer.from(await crypto.subtle.exportKey('spki', publicKey)).toString('base64')
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'RS256', use: 'sig' }, spki }
}
