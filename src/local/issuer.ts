// A local GitLab-like OIDC issuer on loopback: discovery, JWKS and RS256 ID tokens shaped like GitLab CI's, plus failure modes,
// and GitLab's OAuth sign-in for the console (oauth.ts). Leaves verifying tokens to the broker (src/broker/token.ts); the
// signing key lives in memory, or in a JWK file for `token mint`.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  SignJWT, UnsecuredJWT, calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair, importJWK, type CryptoKey, type JWK, type JWTHeaderParameters,
} from 'jose'
import { DEFAULT_CLAIMS } from './default-claims'
import { LOCAL_USERS, createLocalOAuth } from './oauth'
import type { LocalOAuth, LocalUser, OAuthClient } from './oauth'
import { readBody } from './read-body'

export interface MintOptions {
  audience?: string | string[]
  /** Seconds from `iat` to `exp`; default 300. */
  expiresIn?: number
  /** Issued-at, seconds since the epoch; default now. `nbf` is 5 s earlier, as GitLab sets it. */
  iat?: number
  /** The header `kid`: default the key's RFC 7638 thumbprint (as GitLab's); `null` leaves it out. */
  kid?: string | null
  /**
   * Extra or overriding protected-header parameters. An `alg` other than RS256 is honoured for attack tests:
   * RS384/RS512/PS* sign with the same RSA key, HS* with the public key's SPKI PEM as the secret, `none` unsigned.
   */
  header?: Record<string, unknown>
  /** Claims to delete after everything else is set. */
  omit?: string[]
}

export type IssuerMode =
  | 'normal'
  | 'down' // discovery and keys answer 503
  | 'slow' // discovery and keys never answer (until close)
  | 'huge-discovery' // discovery is a valid document over 1 MiB, streamed without Content-Length
  | 'redirect' // discovery answers 302 to the same document on another origin
  | 'foreign-jwks' // discovery's jwks_uri points at another origin (which serves the right keys)
  | 'jwks-down' // discovery fine, keys 503

export interface LocalIssuer {
  /** `http://127.0.0.1:PORT`, no trailing slash: the `iss` of every token. */
  url: string
  port: number
  audience?: string
  /** Another origin (same host, another port) serving the same documents: where 'redirect' and 'foreign-jwks' point. */
  elsewhereUrl: string
  /** Requests received: discovery and keys on `url`, anything on `elsewhereUrl`. */
  stats: { discovery: number; jwks: number; elsewhere: number }
  mint (claims?: Record<string, unknown>, opts?: MintOptions): Promise<string>
  setMode (mode: IssuerMode): void
  /** A new signing key; the JWKS keeps the previous public key too, as GitLab does during rotation. */
  rotateKey (): Promise<void>
  /** GitLab's OAuth sign-in (authorize, token, userinfo) for the registered clients and local users. */
  readonly oauth: LocalOAuth
  close (): Promise<void>
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

export interface LocalIssuerOptions {
  port?: number
  host?: string
  audience?: string
  /** Keep the RSA key here as a private JWK (created if missing), so `mintWithKeyFile` signs with the same key. */
  keyFile?: string
  /** OAuth applications registered with this "GitLab" (the console's); none by default. */
  oauthClients?: readonly OAuthClient[]
  /** Who may sign in; default LOCAL_USERS. */
  users?: readonly LocalUser[]
}

interface SigningKey {
  privateKey: CryptoKey
  privateJwk: JWK
  publicJwk: JWK
  kid: string
}

const DISCOVERY_PATH = '/.well-known/openid-configuration'
const KEYS_PATH = '/oauth/discovery/keys'
const MODES: IssuerMode[] = ['normal', 'down', 'slow', 'huge-discovery', 'redirect', 'foreign-jwks', 'jwks-down']
const MAX_MINT_BODY = 64 * 1024

export async function startLocalIssuer (opts: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const host = opts.host ?? '127.0.0.1'
  let key = opts.keyFile ? await loadOrCreateKeyFile(opts.keyFile) : await newKey().then(k => k.key)
  let previous: SigningKey | undefined
  let mode: IssuerMode = 'normal'
  const stats = { discovery: 0, jwks: 0, elsewhere: 0 }

  const main = http.createServer((req, res) => void serveMain(req, res))
  const elsewhere = http.createServer((req, res) => serveElsewhere(req, res))
  const [port, elsewherePort] = await Promise.all([listen(main, opts.port ?? 0, host), listen(elsewhere, 0, host)])
  const origin = (p: number) => `http://${host.includes(':') ? `[${host}]` : host}:${p}`
  const url = origin(port)
  const elsewhereUrl = origin(elsewherePort)
  const mint = (claims?: Record<string, unknown>, mintOpts?: MintOptions) => signIdToken(key, url, opts.audience, claims, mintOpts)
  const jwks = () => ({ keys: [key, previous].filter((k): k is SigningKey => k !== undefined).map(k => k.publicJwk) })
  const oauth = createLocalOAuth({
    issuer: url,
    clients: opts.oauthClients ?? [],
    users: opts.users ?? LOCAL_USERS,
    sign: payload => new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey),
  })

  async function serveMain (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'POST' && path === '/-/mint') return serveMint(req, res)
    if (await oauth.handle(req, res, path)) return
    if (path !== DISCOVERY_PATH && path !== KEYS_PATH) return json(res, 404, { error: '404 Not Found' })
    stats[path === DISCOVERY_PATH ? 'discovery' : 'jwks']++
    if (mode === 'slow') return // never answered; close() ends the connection
    if (mode === 'down' || (mode === 'jwks-down' && path === KEYS_PATH)) return json(res, 503, { error: '503 Service Unavailable' })
    if (path === KEYS_PATH) return json(res, 200, jwks())
    if (mode === 'redirect') {
      res.writeHead(302, { location: `${elsewhereUrl}${DISCOVERY_PATH}` })
      return void res.end()
    }
    const doc = discoveryDocument(url, mode === 'foreign-jwks' ? elsewhereUrl : url)
    if (mode === 'huge-discovery') return streamHuge(res, doc)
    json(res, 200, doc)
  }

  function serveElsewhere (req: http.IncomingMessage, res: http.ServerResponse): void {
    stats.elsewhere++
    const path = (req.url ?? '/').split('?')[0]
    if (path === DISCOVERY_PATH) return json(res, 200, discoveryDocument(url, elsewhereUrl))
    if (path === KEYS_PATH) return json(res, 200, jwks())
    json(res, 404, { error: '404 Not Found' })
  }

  async function serveMint (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // A minting endpoint is a key to the broker: loopback callers only.
    if (!isLoopback(req.socket.remoteAddress)) return json(res, 403, { error: 'mint is for loopback callers only' })
    try {
      const body = await readJson(req)
      const { audience, expiresIn, ...claims } = body
      if (audience !== undefined && typeof audience !== 'string' && !Array.isArray(audience)) throw new TypeError('audience must be a string or a list')
      if (expiresIn !== undefined && typeof expiresIn !== 'number') throw new TypeError('expiresIn must be a number of seconds')
      json(res, 200, { token: await mint(claims, { audience: audience as string | string[] | undefined, expiresIn }) })
    }
    catch (err) {
      json(res, 400, { error: (err as Error).message })
    }
  }

  return {
    url,
    port,
    audience: opts.audience,
    elsewhereUrl,
    stats,
    mint,
    setMode (next) {
      if (!MODES.includes(next)) throw new TypeError(`unknown issuer mode '${String(next)}'`)
      mode = next
    },
    async rotateKey () {
      const fresh = await newKey()
      if (opts.keyFile) await writeKeyFile(opts.keyFile, fresh.privateJwk)
      previous = key
      key = fresh.key
    },
    oauth,
    close: () => Promise.all([main, elsewhere].map(closeServer)).then(() => undefined),
    get privateKey () {
      return key.privateKey
    },
    get publicJwk () {
      return key.publicJwk
    },
  }
}

/** Mints with the key a running issuer keeps in `keyFile` (`tanuki-sts token mint`), without that server. */
export async function mintWithKeyFile (
  keyFile: string,
  issuerUrl: string,
  claims: Record<string, unknown> = {},
  opts: MintOptions = {}
): Promise<string> {
  let text: string
  try {
    text = await readFile(keyFile, 'utf8')
  }
  catch (err) {
    throw new Error(`no issuer key at ${keyFile}; start the local issuer (npm start) first`, { cause: err })
  }
  return signIdToken(await keyFromJwk(JSON.parse(text) as JWK), issuerUrl.replace(/\/+$/, ''), undefined, claims, opts)
}

async function signIdToken (
  key: SigningKey,
  issuerUrl: string,
  audience: string | undefined,
  claims: Record<string, unknown> = {},
  opts: MintOptions = {}
): Promise<string> {
  const iat = opts.iat ?? Math.floor(Date.now() / 1000)
  const merged: Record<string, unknown> = { ...DEFAULT_CLAIMS, ...claims }
  const payload: Record<string, unknown> = {
    ...merged,
    iss: claims.iss ?? issuerUrl,
    aud: opts.audience ?? claims.aud ?? audience ?? DEFAULT_CLAIMS.aud,
    jti: claims.jti ?? randomUUID(),
    iat: claims.iat ?? iat,
    nbf: claims.nbf ?? iat - 5,
    exp: claims.exp ?? iat + (opts.expiresIn ?? 300),
    ref_path: claims.ref_path ?? `refs/${merged.ref_type === 'tag' ? 'tags' : 'heads'}/${String(merged.ref)}`,
    sub: claims.sub ?? `project_path:${String(merged.project_path)}:ref_type:${String(merged.ref_type)}:ref:${String(merged.ref)}`,
  }
  for (const name of opts.omit ?? []) delete payload[name]
  const kid = opts.kid === undefined ? key.kid : opts.kid
  const header = { alg: 'RS256', typ: 'JWT', ...(kid === null ? {} : { kid }), ...opts.header } as JWTHeaderParameters
  if (header.alg === 'none') return new UnsecuredJWT(payload).encode()
  return new SignJWT(payload).setProtectedHeader(header).sign(await keyFor(key, header.alg))
}

/** WebCrypto binds a key to one algorithm, so any alg but RS256 gets its own import of the same material. */
async function keyFor (key: SigningKey, alg: string): Promise<CryptoKey | Uint8Array> {
  if (alg === 'RS256') return key.privateKey
  if (alg.startsWith('HS')) {
    // The classic RS/HS confusion: a verifier that lets the token pick HMAC would take the public key as the secret.
    const publicKey = (await importJWK({ ...key.publicJwk, alg: 'RS256' }, 'RS256')) as CryptoKey
    return new TextEncoder().encode(await exportSPKI(publicKey))
  }
  return (await importJWK({ ...key.privateJwk, alg }, alg)) as CryptoKey
}

/** gitlab.com's discovery document, with this issuer's URLs. */
function discoveryDocument (issuer: string, keysOrigin: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    jwks_uri: `${keysOrigin}${KEYS_PATH}`,
    scopes_supported: ['api', 'read_api', 'read_user', 'read_repository', 'write_repository', 'read_registry', 'write_registry', 'sudo', 'openid', 'profile',
      'email'],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    grant_types_supported: ['authorization_code', 'password', 'client_credentials', 'device_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claim_types_supported: ['normal'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'sub_legacy', 'name', 'nickname', 'preferred_username', 'email', 'email_verified', 'website',
      'profile', 'picture', 'groups', 'groups_direct'],
    code_challenge_methods_supported: ['plain', 'S256'],
  }
}

/** A valid discovery document padded past 1 MiB, written in chunks with no Content-Length. */
function streamHuge (res: http.ServerResponse, doc: Record<string, unknown>): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
  const head = JSON.stringify(doc).slice(0, -1)
  res.write(`${head},"x_padding":"`)
  const chunk = 'x'.repeat(64 * 1024)
  for (let i = 0; i < 17; i++) res.write(chunk)
  res.end('"}')
}

async function newKey (): Promise<{ key: SigningKey; privateJwk: JWK }> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
  const privateJwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig' }
  return { key: await keyFromJwk(privateJwk), privateJwk }
}

async function keyFromJwk (privateJwk: JWK): Promise<SigningKey> {
  if (privateJwk.kty !== 'RSA' || !privateJwk.d) throw new TypeError('the issuer key must be a private RSA JWK')
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: privateJwk.n, e: privateJwk.e }, 'sha256')
  const privateKey = (await importJWK({ ...privateJwk, alg: 'RS256' }, 'RS256')) as CryptoKey
  return { privateKey, privateJwk, kid, publicJwk: { kty: 'RSA', kid, use: 'sig', alg: 'RS256', n: privateJwk.n, e: privateJwk.e } }
}

async function loadOrCreateKeyFile (keyFile: string): Promise<SigningKey> {
  try {
    return await keyFromJwk(JSON.parse(await readFile(keyFile, 'utf8')) as JWK)
  }
  catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const fresh = await newKey()
  await writeKeyFile(keyFile, fresh.privateJwk)
  return fresh.key
}

async function writeKeyFile (keyFile: string, privateJwk: JWK): Promise<void> {
  await mkdir(dirname(keyFile), { recursive: true })
  await writeFile(keyFile, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 })
}

function json (res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}

async function readJson (req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req, MAX_MINT_BODY)
  const body: unknown = text.trim() === '' ? {} : JSON.parse(text)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TypeError('the body must be a JSON object of claims')
  return body as Record<string, unknown>
}

function isLoopback (address: string | undefined): boolean {
  return address !== undefined && /^(127\.|::1$|::ffff:127\.)/.test(address)
}

function listen (server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port))
  })
}

function closeServer (server: http.Server): Promise<void> {
  return new Promise(resolve => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
