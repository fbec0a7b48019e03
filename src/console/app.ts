// The console's request path: assets and sign-in for anyone; every page for a signed-in viewer or editor; every change
// (POST) only with this session's CSRF token and from the console's own origin. Pages are pages/*.ts's.
import { errorFields } from '../broker/log'
import type { Logger } from '../broker/log'
import { roleOf } from './access'
import type { ConsoleRole } from './access'
import { CONSOLE_CSS, CONSOLE_ICON, CONSOLE_SCRIPT } from './assets'
import type { ConsoleDeps } from './deps'
import { consoleHref, html } from './html'
import { messagePage } from './layout'
import type { Viewer } from './layout'
import { PAGES } from './pages'
import { BadRequest } from './request'
import type { ConsoleRequest } from './request'
import { asset, page, redirect } from './respond'
import type { ConsoleResponse } from './respond'
import { safeReturnTo } from './return-to'
import { NO_SESSION, csrfMatches, readSession, signedIn, signingIn } from './session'
import type { SignedIn } from './session'
import { SignInRefused, authorizeUrl, finishSignIn } from './sign-in'

/** What a page is given: the request, the signed-in session and role, and the console's stores and clock. */
export interface PageContext {
  readonly req: ConsoleRequest
  readonly deps: ConsoleDeps
  readonly session: SignedIn
  readonly role: ConsoleRole
  readonly viewer: Viewer
  readonly now: Date
}

export type PageHandler = (ctx: PageContext) => Promise<ConsoleResponse>
export interface Route { readonly need: ConsoleRole; readonly handle: PageHandler }

/** A refusal a page or the request path decides (403 not allowed, 404, 409 conflict...): shown as a message page. */
export class PageError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
    this.name = 'PageError'
  }
}

const SIGN_IN_AGAIN = { href: '/console/sign-in', text: 'Sign in with GitLab' }

export function createConsole (deps: ConsoleDeps) {
  const { config, log } = deps
  const deployed = config.deployed
  const say = (status: number, title: string, message: string, viewer?: Viewer, link?: { href: string; text: string }) =>
    page(status, messagePage(title, message, viewer, link), deployed)

  async function callback (req: ConsoleRequest, now: Date): Promise<ConsoleResponse> {
    const session = readSession(req.session, now)
    const pending = session.kind === 'signing-in' ? session : undefined
    try {
      const user = await finishSignIn({ config, verify: deps.verifySignIn, now }, pending, {
        code: req.query.get('code') ?? undefined, state: req.query.get('state') ?? undefined, error: req.query.get('error') ?? undefined,
      })
      const role = roleOf(user, config.access)
      log('info', 'console sign-in', { requestId: req.requestId, login: user.login, sub: user.sub, role: role ?? 'none' })
      // A new session: nothing of the signing-in one (or of anyone before) carries over, and a new CSRF token.
      return redirect(safeReturnTo(pending?.returnTo), deployed, signedIn(user, now))
    }
    catch (err) {
      if (!(err instanceof SignInRefused)) throw err
      log('warn', 'console sign-in refused', { requestId: req.requestId, reason: err.code, ...(err.detail && { detail: err.detail }) })
      // A failed attempt ends this browser's sign-in; an answer that was never this browser's leaves its session alone.
      const clear = pending && err.code !== 'state_mismatch'
      return page(400, messagePage('Not signed in', err.message, undefined, SIGN_IN_AGAIN), deployed, clear ? NO_SESSION : undefined)
    }
  }

  /** Requests anyone may make: the entry, assets, and the sign-in steps. Undefined: not one of them. */
  async function publicRoute (req: ConsoleRequest, now: Date): Promise<ConsoleResponse | undefined> {
    if (req.method !== 'GET') return undefined
    switch (req.path) {
      case '/console': case '/console/': return redirect('/console/mappings', deployed)
      case '/console/assets/console.js': return asset('text/javascript', CONSOLE_SCRIPT, deployed)
      case '/console/assets/console.css': return asset('text/css', CONSOLE_CSS, deployed)
      case '/console/assets/icon.svg': return asset('image/svg+xml', CONSOLE_ICON, deployed)
      case '/console/sign-in': {
        const pending = signingIn(safeReturnTo(req.query.get('return_to')), now)
        return redirect(authorizeUrl(config, pending), deployed, pending)
      }
      case '/console/oauth/callback': return callback(req, now)
      case '/console/signed-out': return say(200, 'Signed out', 'You are signed out of the tanuki-sts console.', undefined, SIGN_IN_AGAIN)
      default: return undefined
    }
  }

  /** A change must come from a console form: this session's CSRF token, and no other origin (when the browser says). */
  function refuseForeignForm (req: ConsoleRequest, session: SignedIn): string | undefined {
    const origin = req.headers.origin
    if (origin !== undefined && origin !== config.origin) return `a form from ${origin.slice(0, 100)}`
    const site = req.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return `a ${site.slice(0, 20)} request`
    if (!csrfMatches(session, req.form.get('csrf'))) return 'a form without this session\'s CSRF token'
    return undefined
  }

  async function route (req: ConsoleRequest, now: Date): Promise<ConsoleResponse> {
    const open = await publicRoute(req, now)
    if (open) return open
    const table = req.method === 'GET' ? PAGES.get : req.method === 'POST' ? PAGES.post : undefined
    const target = table?.[req.path]
    const signOut = req.method === 'POST' && req.path === '/console/sign-out'
    if (!target && !signOut) return say(404, 'Not found', 'The console has no such page.', undefined, { href: '/console/mappings', text: 'Go to the mappings' })
    const session = readSession(req.session, now)
    if (session.kind !== 'user') {
      if (req.method === 'GET') return redirect(consoleHref('/console/sign-in', { return_to: `${req.path}${req.query.size ? `?${req.query}` : ''}` }), deployed)
      return say(401, 'Signed out', 'Your session has ended (sessions last 8 hours), so nothing was done. Sign in again, then repeat what you were doing.',
        undefined, SIGN_IN_AGAIN)
    }
    const role = roleOf(session.user, config.access)
    const viewer: Viewer = { login: session.user.login, csrf: session.csrf, ...(role && { role }) }
    if (req.method === 'POST') {
      const foreign = refuseForeignForm(req, session)
      if (foreign) {
        log('warn', 'console form refused', { requestId: req.requestId, path: req.path, login: session.user.login, why: foreign })
        return say(403, 'Refused',
          'This form did not come from this console session (it is stale, or was sent from elsewhere), so nothing was done. Go back, reload the page, ' +
            'and try again.', viewer)
      }
      if (signOut) {
        log('info', 'console sign-out', { requestId: req.requestId, login: session.user.login })
        return redirect('/console/signed-out', deployed, NO_SESSION, 303)
      }
    }
    if (!role) {
      return say(403, 'Not allowed', `You are signed in as ${session.user.login}, but the console's configuration lets you neither view nor edit. ` +
        'Ask its operators to add you, or a GitLab group of yours, to CONSOLE_VIEWERS or CONSOLE_EDITORS; then sign out and in again.', viewer)
    }
    if (!target) return say(404, 'Not found', 'The console has no such page.', viewer)
    if (target.need === 'editor' && role !== 'editor') {
      return say(403, 'Not allowed',
        `You are signed in as ${session.user.login}, a viewer: only editors (CONSOLE_EDITORS) may change mappings. Nothing was changed.`, viewer)
    }
    return target.handle({ req, deps, session, role, viewer, now })
  }

  return async function handle (req: ConsoleRequest): Promise<ConsoleResponse> {
    const now = deps.now()
    let response: ConsoleResponse
    try { response = await route(req, now) }
    catch (err) {
      response = failure(err, req, log, deployed)
    }
    // Path and status only: a query or form may hold claims, and a pasted token is never logged.
    log(response.statusCode >= 500 ? 'error' : 'info', 'console answered',
      { requestId: req.requestId, method: req.method, path: req.path.slice(0, 200), status: response.statusCode })
    return response
  }
}

function failure (err: unknown, req: ConsoleRequest, log: Logger, deployed: boolean): ConsoleResponse {
  if (err instanceof PageError || err instanceof BadRequest) {
    const title = err.status === 409 ? 'Changed meanwhile' : err.status === 404 ? 'Not found' : err.status === 403 ? 'Not allowed' : 'Cannot do that'
    return page(err.status, messagePage(title, err.message), deployed)
  }
  const status = typeof err === 'object' && err !== null && 'status' in err && err.status === 503 ? 503 : 500
  log('error', 'console failed', { requestId: req.requestId, path: req.path.slice(0, 200), ...errorFields(err, status === 500) })
  return page(status, messagePage(status === 503 ? 'Unavailable' : 'Failed',
    html`The console could not answer${status === 503 ? ' (the broker\'s tables could not be reached); try again shortly' : '; the error was logged'}. Request id: <code>${req.requestId}</code>.`), deployed)
}
