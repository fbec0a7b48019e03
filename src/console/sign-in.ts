// Sign in with GitLab: OAuth 2.0's authorization code flow with PKCE (RFC 7636), `state` (RFC 6749 §10.12) and an OIDC
// `nonce`, against the one issuer configured. The ID token goes through the broker's own verifier (token.ts); the
// groups come from it (`groups_direct`) and from userinfo (`groups`). Sessions are session.ts's, roles access.ts's.
import { createHash } from 'node:crypto'
import { FetchRefused, InvalidToken } from '../broker/errors'
import { fetchCapped } from '../broker/fetch-capped'
import { createJwtVerifier } from '../broker/token'
import type { JwtVerifier } from '../broker/token'
import { configuredGroups } from './access'
import type { ConsoleConfig } from './config'
import { sameSecret } from './session'
import type { ConsoleUser, SigningIn } from './session'

/** Why a sign-in was refused: `code` for logs and tests, `message` safe to show (never a code, token or secret). */
export class SignInRefused extends Error {
  constructor (readonly code: SignInFailure, message: string, readonly detail?: string) {
    super(message)
    this.name = 'SignInRefused'
  }
}

export type SignInFailure =
  | 'no_sign_in' // no sign-in in progress in this browser (or it expired)
  | 'state_mismatch' // the callback's state is not this browser's
  | 'cancelled' // GitLab answered with an error (the user cancelled, or the application is misregistered)
  | 'code_refused' // GitLab would not exchange the code (used, expired, another client's, PKCE mismatch)
  | 'id_token_invalid' // the ID token failed the broker's verifier, or lacks what the console needs
  | 'nonce_mismatch' // the ID token was issued for another sign-in
  | 'userinfo_failed' // userinfo could not be read, or is about someone else

/** The ID token claims the console needs (GitLab's OIDC ID token, `openid profile` scopes). */
export interface SignInClaims {
  readonly sub: string
  readonly nonce?: string
  readonly login: string
  readonly name?: string
  readonly groups_direct: readonly string[]
}

const LOGIN = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}$/

function stringList (value: unknown, claim: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > 5000 || !value.every(g => typeof g === 'string' && g.length <= 1024)) {
    throw new InvalidToken(`The sign-in ID token's "${claim}" claim must be a list of group paths.`, { reason: 'gitlab_claims' })
  }
  return value as string[]
}

/** Reads a verified sign-in ID token's claims for one client (OIDC Core §3.1.3.7: several audiences need azp to be ours). */
export function signInClaimsReader (clientId: string) {
  return (payload: Record<string, unknown>): SignInClaims => {
    const { sub, nonce, name, aud, azp } = payload
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) throw new InvalidToken('The sign-in ID token has no "sub".', { reason: 'gitlab_claims' })
    if (Array.isArray(aud) && aud.length > 1 && azp !== clientId) throw new InvalidToken('The sign-in ID token names several audiences and is not authorized for this console (azp).', { reason: 'audience' })
    const login = payload.preferred_username ?? payload.nickname
    if (typeof login !== 'string' || !LOGIN.test(login)) throw new InvalidToken('The sign-in ID token has no GitLab username (preferred_username or nickname): ask for the profile scope.', { reason: 'gitlab_claims' })
    return {
      sub,
      login,
      groups_direct: stringList(payload.groups_direct, 'groups_direct'),
      ...(typeof nonce === 'string' && { nonce }),
      ...(typeof name === 'string' && name.length <= 255 && { name }),
    }
  }
}

export function createSignInVerifier (config: ConsoleConfig): JwtVerifier<SignInClaims> {
  // The broker's verifier: this issuer only, RS256, keys from its discovery, and the console's client id as audience.
  return createJwtVerifier({ issuers: [config.issuer], audience: config.clientId, allowHttpIssuers: config.broker.allowHttpIssuers }, signInClaimsReader(config.clientId))
}

const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url')

/** Where to send the browser to sign in (GitLab's /oauth/authorize); the signing-in session goes in its cookie. */
export function authorizeUrl (config: ConsoleConfig, pending: SigningIn): string {
  const url = new URL(`${config.issuer}/oauth/authorize`)
  url.search = new URLSearchParams({
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    response_type: 'code',
    // openid: the ID token and its groups_direct; profile: the username (preferred_username / nickname).
    scope: 'openid profile',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  }).toString()
  return url.href
}

export interface CallbackQuery { readonly code?: string; readonly state?: string; readonly error?: string }

export interface SignInDeps {
  readonly config: ConsoleConfig
  readonly verify: JwtVerifier<SignInClaims>
  readonly now: Date
}

const REFUSED = 'GitLab\'s answer could not be verified, so you are not signed in. Try again; if it keeps failing, the console\'s operators will find why in its logs.'

/** GitLab's token endpoint: the code, with this console's credentials and the PKCE verifier, for an access and an ID token. */
async function redeem (config: ConsoleConfig, code: string, verifier: string): Promise<{ accessToken: string; idToken: string }> {
  let body: unknown
  try {
    const response = await fetchCapped(`${config.issuer}/oauth/token`, {
      form: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: config.redirectUri,
        client_id: config.clientId, client_secret: config.clientSecret, code_verifier: verifier,
      }),
    })
    body = await response.json()
  }
  catch (err) {
    throw new SignInRefused('code_refused', 'GitLab did not accept this sign-in (it may have been used already, or have expired). Sign in again.',
      err instanceof FetchRefused ? err.message : String(err))
  }
  const { access_token: accessToken, id_token: idToken } = (body ?? {}) as Record<string, unknown>
  if (typeof accessToken !== 'string' || typeof idToken !== 'string') throw new SignInRefused('code_refused', REFUSED, 'the token answer has no access_token or id_token')
  return { accessToken, idToken }
}

/** userinfo, for `groups` (every group, inherited ones too) and to check it is about the same user as the ID token. */
async function userinfo (config: ConsoleConfig, accessToken: string, sub: string): Promise<string[]> {
  let body: unknown
  try {
    const response = await fetchCapped(`${config.issuer}/oauth/userinfo`, { headers: new Headers({ authorization: `Bearer ${accessToken}` }) })
    body = await response.json()
  }
  catch (err) {
    throw new SignInRefused('userinfo_failed', REFUSED, err instanceof Error ? err.message : String(err))
  }
  const info = (body ?? {}) as Record<string, unknown>
  // OIDC Core §5.3.2: a userinfo answer whose sub is not the ID token's must not be used.
  if (info.sub !== sub) throw new SignInRefused('userinfo_failed', REFUSED, 'userinfo is about another user (sub differs from the ID token\'s)')
  try { return stringList(info.groups, 'groups') }
  catch { throw new SignInRefused('userinfo_failed', REFUSED, 'userinfo groups is not a list of paths') }
}

/**
 * The callback: checks it answers this browser's sign-in (state, in constant time) before anything is sent anywhere,
 * redeems the code with the PKCE verifier, verifies the ID token and its nonce, and reads the groups. The access token
 * is used for userinfo only, and kept nowhere.
 */
export async function finishSignIn (deps: SignInDeps, pending: SigningIn | undefined, query: CallbackQuery): Promise<ConsoleUser> {
  if (!pending) throw new SignInRefused('no_sign_in', 'No sign-in is in progress in this browser (or it took longer than 10 minutes). Sign in again.')
  if (typeof query.state !== 'string' || !sameSecret(query.state, pending.state)) {
    throw new SignInRefused('state_mismatch', 'This sign-in answer was not meant for this browser, so it was ignored. Sign in again.')
  }
  if (query.error !== undefined) throw new SignInRefused('cancelled', 'GitLab did not sign you in (the sign-in was cancelled or refused).', query.error.slice(0, 64))
  if (typeof query.code !== 'string' || query.code.length === 0 || query.code.length > 512) throw new SignInRefused('code_refused', REFUSED, 'no code')
  const { accessToken, idToken } = await redeem(deps.config, query.code, pending.verifier)
  let claims: SignInClaims
  try { claims = (await deps.verify(idToken, deps.now)).claims }
  catch (err) {
    throw new SignInRefused('id_token_invalid', REFUSED, err instanceof Error ? err.message : String(err))
  }
  if (typeof claims.nonce !== 'string' || !sameSecret(claims.nonce, pending.nonce)) {
    throw new SignInRefused('nonce_mismatch', REFUSED, 'the ID token\'s nonce is not this sign-in\'s')
  }
  const groups = [...claims.groups_direct, ...await userinfo(deps.config, accessToken, claims.sub)]
  return {
    sub: claims.sub,
    login: claims.login,
    groups: configuredGroups(groups, deps.config.access),
    ...(claims.name !== undefined && { name: claims.name }),
  }
}
