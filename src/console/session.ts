// The console's session, kept by Architect's sessions (arc.http) in one encrypted, HttpOnly cookie: nobody, someone
// signing in (state, nonce, PKCE verifier), or a signed-in user with the CSRF token bound to that sign-in. At most 8 hours.
// What arrives is checked field by field; anything else is no session. Roles are access.ts's, the OAuth steps sign-in.ts's.
import { randomBytes, timingSafeEqual } from 'node:crypto'

/** A sign-in lasts 8 hours at most; then the user signs in again (GitLab decides again who they are and what groups). */
export const SESSION_SECONDS = 8 * 3600
/** From leaving for GitLab to coming back: GitLab's authorization codes live 10 minutes too. */
export const SIGN_IN_SECONDS = 600

// Architect's session writer (arc.http) reads the cookie's lifetime and SameSite from the environment. The console's are
// not settings: Max-Age is the session's 8 hours, and Lax, since GitLab's redirect back to the callback is a cross-site
// navigation that must carry the signing-in cookie (changes are guarded by CSRF tokens, and GETs change nothing).
process.env.ARC_SESSION_TTL = String(SESSION_SECONDS)
process.env.ARC_SESSION_SAME_SITE = 'lax'

export interface ConsoleUser {
  /** GitLab's user id (the ID token's `sub`). */
  readonly sub: string
  readonly login: string
  readonly name?: string
  /** The configured groups the user was in at sign-in (access.ts's configuredGroups). */
  readonly groups: readonly string[]
}

export interface SignedIn {
  readonly kind: 'user'
  readonly user: ConsoleUser
  /** Random, per sign-in: every form that changes something carries it, and it must match this session's. */
  readonly csrf: string
  readonly signedInAt: number
  /** Seconds since the epoch; Architect's JWE reader refuses the cookie after it too. */
  readonly exp: number
}

export interface SigningIn {
  readonly kind: 'signing-in'
  readonly state: string
  readonly nonce: string
  /** PKCE (RFC 7636): the code verifier; only its S256 challenge went to GitLab. */
  readonly verifier: string
  readonly returnTo: string
  readonly exp: number
}

export type Session = SignedIn | SigningIn | { readonly kind: 'none' }
export const NO_SESSION: Session = Object.freeze({ kind: 'none' })

/** 256 random bits, base64url: state, nonce, verifier and CSRF tokens. */
export const randomToken = (): string => randomBytes(32).toString('base64url')
const TOKEN = /^[A-Za-z0-9_-]{43}$/
const seconds = (now: Date) => Math.floor(now.getTime() / 1000)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max

function readUser (raw: unknown): ConsoleUser | undefined {
  if (!isObject(raw) || !isText(raw.sub, 255) || !isText(raw.login, 255)) return undefined
  if (!Array.isArray(raw.groups) || raw.groups.length > 100 || !raw.groups.every(g => isText(g, 1024))) return undefined
  if (raw.name !== undefined && !isText(raw.name, 255)) return undefined
  return { sub: raw.sub, login: raw.login, groups: raw.groups as string[], ...(raw.name !== undefined && { name: raw.name }) }
}

/** What the cookie held (arc's req.session): a session of the right shape that has not expired, else none. */
export function readSession (raw: unknown, now: Date): Session {
  if (!isObject(raw) || typeof raw.exp !== 'number' || raw.exp <= seconds(now)) return NO_SESSION
  if (raw.kind === 'user') {
    const user = readUser(raw.user)
    if (!user || typeof raw.csrf !== 'string' || !TOKEN.test(raw.csrf) || typeof raw.signedInAt !== 'number') return NO_SESSION
    if (raw.exp > raw.signedInAt + SESSION_SECONDS) return NO_SESSION
    return { kind: 'user', user, csrf: raw.csrf, signedInAt: raw.signedInAt, exp: raw.exp }
  }
  if (raw.kind === 'signing-in') {
    const { state, nonce, verifier, returnTo } = raw
    if (![state, nonce, verifier].every(v => typeof v === 'string' && TOKEN.test(v)) || !isText(returnTo, 2048)) return NO_SESSION
    return { kind: 'signing-in', state: state as string, nonce: nonce as string, verifier: verifier as string, returnTo, exp: raw.exp }
  }
  return NO_SESSION
}

/** A fresh session for a user who just signed in: a new CSRF token, nothing carried over from before. */
export function signedIn (user: ConsoleUser, now: Date): SignedIn {
  return { kind: 'user', user, csrf: randomToken(), signedInAt: seconds(now), exp: seconds(now) + SESSION_SECONDS }
}

export function signingIn (returnTo: string, now: Date): SigningIn {
  return { kind: 'signing-in', state: randomToken(), nonce: randomToken(), verifier: randomToken(), returnTo, exp: seconds(now) + SIGN_IN_SECONDS }
}

/** Whether a form's CSRF token is this session's (compared in constant time). */
export function csrfMatches (session: SignedIn, submitted: unknown): boolean {
  return typeof submitted === 'string' && TOKEN.test(submitted) && sameSecret(submitted, session.csrf)
}

/** Two secrets compared in constant time (the OAuth state). */
export function sameSecret (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
