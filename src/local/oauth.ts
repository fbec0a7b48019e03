// The local issuer's "Sign in with GitLab": /oauth/authorize (a page to pick a local user), /oauth/token and
// /oauth/userinfo, as GitLab answers them (authorization code with PKCE, OIDC ID tokens, userinfo with `groups`).
// Serving and signing are issuer.ts's; what the console does with the answers is src/console/sign-in.ts's.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type http from 'node:http'
import { html } from '../console/html'
import { readBody } from './read-body'

export interface LocalUser {
  /** GitLab's numeric user id: the `sub` of its ID tokens. */
  readonly id: string
  readonly login: string
  readonly name: string
  /** Full paths of the groups the user is a direct member of (`groups_direct`; userinfo's `groups` adds none here). */
  readonly groups: readonly string[]
}

export interface OAuthClient {
  readonly clientId: string
  readonly clientSecret: string
  /** Exact callback URLs, as an admin registers them in GitLab's Applications page. */
  readonly redirectUris: readonly string[]
}

/**
 * Failure modes for the console's tests, as a compromised or buggy IdP would answer: an ID token for another sign-in
 * (`wrong-nonce`), or a userinfo answer about another user (`wrong-userinfo-sub`).
 */
export type OAuthMode = 'normal' | 'wrong-nonce' | 'wrong-userinfo-sub'

/** The users `npm start` offers to sign in as: an admin (editor), a viewer, and someone in no configured group. */
export const LOCAL_USERS: readonly LocalUser[] = [
  { id: '1001', login: 'local-admin', name: 'Local Admin', groups: ['tanuki-sts/admins'] },
  { id: '1002', login: 'local-viewer', name: 'Local Viewer', groups: ['tanuki-sts/auditors'] },
  { id: '1003', login: 'local-outsider', name: 'Local Outsider', groups: ['elsewhere/team'] },
]

/** GitLab: an authorization code lives 10 minutes, an access token 2 hours, an ID token 2 minutes. */
const CODE_SECONDS = 600
const ACCESS_SECONDS = 7200
const ID_TOKEN_SECONDS = 120
const MAX_BODY = 16 * 1024

interface Grant {
  readonly clientId: string
  readonly redirectUri: string
  readonly user: LocalUser
  readonly challenge: string
  readonly nonce?: string
  readonly expiresAt: number
  used: boolean
}

export interface OAuthStats { authorize: number; token: number; userinfo: number }

export interface LocalOAuth {
  readonly stats: OAuthStats
  readonly users: readonly LocalUser[]
  setMode (mode: OAuthMode): void
  /** Answers /oauth/authorize, /oauth/token and /oauth/userinfo; false for any other path. */
  handle (req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<boolean>
}

const b64url = (bytes: Buffer) => bytes.toString('base64url')
const secret = () => b64url(randomBytes(32))
const s256 = (verifier: string) => b64url(createHash('sha256').update(verifier).digest())

function same (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

class OAuthError extends Error {
  constructor (readonly status: number, readonly error: string, description: string) {
    super(description)
  }
}

export function createLocalOAuth (o: {
  issuer: string
  clients: readonly OAuthClient[]
  users: readonly LocalUser[]
  sign (payload: Record<string, unknown>): Promise<string>
}): LocalOAuth {
  const codes = new Map<string, Grant>()
  const accessTokens = new Map<string, { user: LocalUser; expiresAt: number }>()
  const stats: OAuthStats = { authorize: 0, token: 0, userinfo: 0 }
  let mode: OAuthMode = 'normal'
  const now = () => Math.floor(Date.now() / 1000)

  /** The request's client and redirect URI, checked before anything is shown or sent back to that URI (as GitLab does). */
  function authorizeParams (params: URLSearchParams) {
    const client = o.clients.find(c => c.clientId === params.get('client_id'))
    if (!client) throw new OAuthError(400, 'invalid_client', 'Client authentication failed due to unknown client.')
    const redirectUri = params.get('redirect_uri') ?? ''
    if (!client.redirectUris.includes(redirectUri)) throw new OAuthError(400, 'invalid_redirect_uri', 'The redirect URI included is not valid.')
    if (params.get('response_type') !== 'code') throw new OAuthError(400, 'unsupported_response_type', 'Only response_type=code is supported.')
    if (!(params.get('scope') ?? '').split(' ').includes('openid')) throw new OAuthError(400, 'invalid_scope', 'The scope must include openid.')
    const challenge = params.get('code_challenge') ?? ''
    if (params.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      throw new OAuthError(400, 'invalid_request', 'A code_challenge with code_challenge_method=S256 is required.')
    }
    return { client, redirectUri, challenge, state: params.get('state') ?? undefined, nonce: params.get('nonce') ?? undefined }
  }

  function signInPage (params: URLSearchParams): string {
    const hidden = [...params].filter(([name]) => name !== 'login').map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)
    return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · local GitLab</title></head><body>
<main><h1>Local GitLab: sign in</h1>
<p>This is the local issuer of <code>npm start</code>, standing in for GitLab. Pick a local user:</p>
${o.users.map(u => html`<form method="post" action="/oauth/authorize">${hidden}<input type="hidden" name="login" value="${u.login}">
<button type="submit">Sign in as ${u.login}</button> <span>${u.name}, groups: ${u.groups.join(', ') || 'none'}</span></form>`)}
<form method="post" action="/oauth/authorize">${hidden}<input type="hidden" name="login" value=""><button type="submit">Cancel</button></form>
</main></body></html>`.text
  }

  async function authorize (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.authorize++
    const params = req.method === 'POST' ? new URLSearchParams(await readBody(req, MAX_BODY)) : new URL(req.url ?? '/', o.issuer).searchParams
    const p = authorizeParams(params)
    if (req.method !== 'POST') return send(res, 200, 'text/html; charset=utf-8', signInPage(params))
    const back = new URL(p.redirectUri)
    const login = params.get('login')
    const user = o.users.find(u => u.login === login)
    if (!user) back.searchParams.set('error', 'access_denied')
    else {
      const code = secret()
      codes.set(code, { clientId: p.client.clientId, redirectUri: p.redirectUri, user, challenge: p.challenge, nonce: p.nonce, expiresAt: now() + CODE_SECONDS,
        used: false })
      back.searchParams.set('code', code)
    }
    if (p.state !== undefined) back.searchParams.set('state', p.state)
    res.writeHead(302, { location: back.href, 'cache-control': 'no-store' })
    res.end()
  }

  function clientOf (req: http.IncomingMessage, form: URLSearchParams): OAuthClient {
    let id = form.get('client_id')
    let pass = form.get('client_secret')
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')
    if (basic) [id, pass] = Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent)
    const client = o.clients.find(c => c.clientId === id)
    if (!client || pass === null || pass === undefined || !same(pass, client.clientSecret)) {
      throw new OAuthError(401, 'invalid_client',
        'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.')
    }
    return client
  }

  async function token (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.token++
    if (req.method !== 'POST') throw new OAuthError(405, 'invalid_request', 'POST only.')
    const form = new URLSearchParams(await readBody(req, MAX_BODY))
    const client = clientOf(req, form)
    if (form.get('grant_type') !== 'authorization_code') throw new OAuthError(400, 'unsupported_grant_type', 'Only authorization_code.')
    const code = form.get('code') ?? ''
    const grant = codes.get(code)
    const invalid = () => new OAuthError(400, 'invalid_grant',
      'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, ' +
        'or was issued to another client.')
    if (!grant || grant.clientId !== client.clientId || grant.redirectUri !== form.get('redirect_uri') || grant.expiresAt < now()) throw invalid()
    // RFC 6749 §4.1.2: a code is used once; a second use is refused (and its tokens would be revoked).
    if (grant.used) throw invalid()
    grant.used = true
    if (!same(s256(form.get('code_verifier') ?? ''), grant.challenge)) throw invalid()
    const accessToken = secret()
    accessTokens.set(accessToken, { user: grant.user, expiresAt: now() + ACCESS_SECONDS })
    const iat = now()
    const idToken = await o.sign({
      iss: o.issuer,
      sub: grant.user.id,
      aud: client.clientId,
      exp: iat + ID_TOKEN_SECONDS,
      iat,
      auth_time: iat,
      sub_legacy: createHash('sha256').update(`local-${grant.user.id}`).digest('hex'),
      name: grant.user.name,
      nickname: grant.user.login,
      preferred_username: grant.user.login,
      groups_direct: [...grant.user.groups],
      ...(grant.nonce !== undefined && { nonce: mode === 'wrong-nonce' ? secret() : grant.nonce }),
    })
    send(res, 200, 'application/json; charset=utf-8', JSON.stringify({
      access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_SECONDS, scope: 'openid profile', created_at: iat, id_token: idToken,
    }))
  }

  function userinfo (req: http.IncomingMessage, res: http.ServerResponse): void {
    stats.userinfo++
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
    const grant = bearer === undefined ? undefined : accessTokens.get(bearer)
    if (!grant || grant.expiresAt < now()) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' })
      return void res.end(JSON.stringify({ error: 'invalid_token' }))
    }
    const u = grant.user
    send(res, 200, 'application/json; charset=utf-8', JSON.stringify({
      sub: mode === 'wrong-userinfo-sub' ? String(Number(u.id) + 1) : u.id, name: u.name, nickname: u.login, preferred_username: u.login, groups: [...u.groups],
    }))
  }

  return {
    stats,
    users: o.users,
    setMode (next) {
      if (!['normal', 'wrong-nonce', 'wrong-userinfo-sub'].includes(next)) throw new TypeError(`unknown oauth mode '${String(next)}'`)
      mode = next
    },
    async handle (req, res, path) {
      const route = { '/oauth/authorize': authorize, '/oauth/token': token, '/oauth/userinfo': userinfo }[path]
      if (!route) return false
      try { await route(req, res) }
      catch (err) {
        const e = err instanceof OAuthError ? err : new OAuthError(500, 'server_error', err instanceof Error ? err.message : String(err))
        if (!res.headersSent) send(res, e.status, 'application/json; charset=utf-8', JSON.stringify({ error: e.error, error_description: e.message }))
        else res.destroy()
      }
      return true
    },
  }
}

function send (res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body)
}
