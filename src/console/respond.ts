// Every answer the console gives, and the headers that come with each: a Content-Security-Policy with no inline script
// or style, no caching, no framing, no referrer. Page content is the pages'; the session cookie is arc.http's to write.
import type { Html } from './html'
import type { Session } from './session'

export interface ConsoleResponse {
  readonly statusCode: number
  readonly headers: Record<string, string>
  readonly body: string
  /** Set: arc.http writes it as the session cookie (HttpOnly, Secure outside local sandbox, SameSite=Lax, 8 hours). */
  readonly session?: Record<string, unknown>
}

/**
 * Scripts and styles only from the console's own files (no inline script, no eval), forms post only to the console,
 * nothing may frame it. The sign-in link leaves for GitLab as a plain navigation, which form-action does not cover.
 */
export const CONTENT_SECURITY_POLICY = [
  'default-src \'none\'', 'script-src \'self\'', 'style-src \'self\'', 'img-src \'self\'', 'connect-src \'self\'',
  'form-action \'self\'', 'frame-ancestors \'none\'', 'base-uri \'none\'',
].join('; ')

/** The headers of every console answer. `deployed` adds HSTS (a local sandbox is plain http). */
export function securityHeaders (deployed: boolean): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    // Pages show claims, audit records and mappings: never kept by a browser or a proxy.
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // The callback's URL holds the authorization code: no page passes its address to another origin. (Not no-referrer:
    // then browsers send `Origin: null` with the console's own forms, which the origin check refuses.)
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    ...(deployed && { 'strict-transport-security': 'max-age=31536000' }),
  }
}

/** What the session cookie will hold: the session as written (arc adds its own iat), or an empty one to sign out. */
export function sessionCookie (session: Session): Record<string, unknown> {
  return session.kind === 'none' ? {} : { ...session }
}

export function page (status: number, document: Html, deployed: boolean, session?: Session): ConsoleResponse {
  return {
    statusCode: status,
    headers: { ...securityHeaders(deployed), 'content-type': 'text/html; charset=utf-8' },
    body: document.text,
    ...(session && { session: sessionCookie(session) }),
  }
}

/** 303 after a form (the browser GETs the result), 302 for a plain redirect. `location` is the console's own or GitLab's. */
export function redirect (location: string, deployed: boolean, session?: Session, status: 302 | 303 = 302): ConsoleResponse {
  return {
    statusCode: status,
    headers: { ...securityHeaders(deployed), location },
    body: '',
    ...(session && { session: sessionCookie(session) }),
  }
}

/** The console's script, stylesheet and icon: the same on every page, cached a few minutes. */
export function asset (type: 'text/javascript' | 'text/css' | 'image/svg+xml', body: string, deployed: boolean): ConsoleResponse {
  return {
    statusCode: 200,
    headers: { ...securityHeaders(deployed), 'content-type': `${type}; charset=utf-8`, 'cache-control': 'public, max-age=300' },
    body,
  }
}
