// A local AWS STS on loopback: AssumeRole and GetCallerIdentity over the real Query protocol, every request SigV4-verified.
// Leaves signature checking to sigv4-verify.ts, XML to sts-xml.ts, and IAM policy evaluation to real AWS (any role may be assumed).
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { verifySigV4, SigV4Error, type SecretLookup } from './sigv4-verify'
import { assumeRoleXml, callerIdentityXml, errorXml } from './sts-xml'
import { readAssumeRole, StsError, type AssumeRoleInput } from './sts-params'

export interface Principal {
  accessKeyId: string
  secretAccessKey: string
  /** e.g. `arn:aws:sts::000000000000:assumed-role/tanuki-sts-broker/local` (an assumed role, so AssumeRole is role chaining). */
  arn: string
}

export interface AssumedRole {
  accessKeyId: string
  roleArn: string
  assumedRoleArn: string
  roleSessionName: string
  sourceIdentity?: string
  tags: Record<string, string>
  transitiveTagKeys: string[]
  durationSeconds: number
  policy?: string
  expiration: Date
  callerArn: string
}

export interface StsFault {
  /** Only requests for this action; undefined matches any. */
  action?: 'AssumeRole' | 'GetCallerIdentity'
  status: number
  code: string
  message?: string
  /** How many matching requests answer with this fault; default 1, `Infinity` for always. */
  times?: number
}

export interface LocalSts {
  url: string
  port: number
  /** Per action, verified requests that named it (faulted and invalid ones included); `rejected`: failed SigV4. */
  calls: { AssumeRole: number; GetCallerIdentity: number; rejected: number }
  /** Successful AssumeRole calls, oldest first. No secrets. */
  issued: AssumedRole[]
  injectFault(f: StsFault): void
  clearFaults(): void
  /**
   * The secret of an access key this STS knows (a principal's, or a session it issued): for another local AWS service
   * to verify requests signed with the credentials the broker handed out, as AWS would.
   */
  lookup: SecretLookup
  /** Zeroes the counters, drops faults and forgets every issued credential (they stop working). */
  reset(): void
  close(): Promise<void>
}

export interface LocalStsOptions {
  /** 0 (default) picks a free port. */
  port?: number
  host?: string
  principals: Principal[]
  now?: () => Date
  /** Account reported for a principal whose ARN names none. Default `000000000000`. */
  accountId?: string
}

interface Caller {
  arn: string
  userId: string
  account: string
  /** AssumeRole from an assumed-role session is role chaining (AWS caps the session at 1 hour). */
  chained: boolean
  sourceIdentity?: string
}

interface Session {
  secretAccessKey: string
  sessionToken: string
  expiration: Date
  caller: Caller
}

// Query APIs take small bodies; 1 MiB is far above any valid AssumeRole.
const MAX_BODY = 1024 * 1024
const DEFAULT_MESSAGES: Record<string, string> = {
  Throttling: 'Rate exceeded',
  AccessDenied: 'User is not authorized to perform: sts:AssumeRole',
  InternalFailure: 'An internal error occurred.',
  ServiceUnavailable: 'Service is unavailable. Please try again later.',
}

export async function startLocalSts (opts: LocalStsOptions): Promise<LocalSts> {
  const now = opts.now ?? (() => new Date())
  const host = opts.host ?? '127.0.0.1'
  const principals = new Map(opts.principals.map(p => [p.accessKeyId, p]))
  const sessions = new Map<string, Session>()
  const calls = { AssumeRole: 0, GetCallerIdentity: 0, rejected: 0 }
  const issued: AssumedRole[] = []
  let faults: Array<StsFault & { left: number }> = []

  const lookup: SecretLookup = id => {
    const principal = principals.get(id)
    if (principal) return { secretAccessKey: principal.secretAccessKey }
    const session = sessions.get(id)
    return session && { secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken, expiration: session.expiration }
  }

  function callerOf (accessKeyId: string): Caller {
    const session = sessions.get(accessKeyId)
    if (session) return session.caller
    const arn = principals.get(accessKeyId)!.arn
    const account = /^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1] ?? opts.accountId ?? '000000000000'
    const assumed = /:assumed-role\/([^/]+)\/(.+)$/.exec(arn)
    if (assumed) return { arn, account, chained: true, userId: `${roleId(`arn:aws:iam::${account}:role/${assumed[1]}`)}:${assumed[2]}` }
    return { arn, account, chained: false, userId: /:user\//.test(arn) ? `AIDA${stableId(arn, 17)}` : account }
  }

  function takeFault (action: string | undefined): StsFault | undefined {
    const fault = faults.find(f => f.action === undefined || f.action === action)
    if (fault && --fault.left <= 0) faults = faults.filter(f => f !== fault)
    return fault
  }

  function assumeRole (input: AssumeRoleInput, caller: Caller, requestId: string): string {
    const at = now()
    const expiration = new Date(at.getTime() + input.durationSeconds * 1000)
    const [, account, roleName] = /^arn:[\w-]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(input.roleArn)!
    const assumedRoleArn = `arn:aws:sts::${account}:assumed-role/${roleName}/${input.roleSessionName}`
    const assumedRoleId = `${roleId(input.roleArn)}:${input.roleSessionName}`
    // A source identity, once set, stays with every chained session (AWS: it cannot be changed).
    const sourceIdentity = caller.sourceIdentity ?? input.sourceIdentity
    const accessKeyId = `ASIA${base32(randomBytes(16))}`
    const secretAccessKey = randomBytes(30).toString('base64')
    const sessionToken = randomBytes(270).toString('base64')
    sessions.set(accessKeyId, {
      secretAccessKey,
      sessionToken,
      expiration,
      caller: { arn: assumedRoleArn, userId: assumedRoleId, account, chained: true, sourceIdentity },
    })
    issued.push({
      accessKeyId,
      roleArn: input.roleArn,
      assumedRoleArn,
      roleSessionName: input.roleSessionName,
      sourceIdentity,
      tags: input.tags,
      transitiveTagKeys: input.transitiveTagKeys,
      durationSeconds: input.durationSeconds,
      policy: input.policy,
      expiration,
      callerArn: caller.arn,
    })
    return assumeRoleXml(
      { accessKeyId, secretAccessKey, sessionToken, expiration, assumedRoleArn, assumedRoleId, sourceIdentity, packedPolicySize: input.packedPolicySize },
      requestId,
    )
  }

  async function handle (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomUUID()
    const send = (status: number, xml: string) => {
      // Date from our clock: the SDKs correct their skew from it, as they do against AWS.
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, date: now().toUTCString() })
      res.end(xml)
    }
    try {
      const body = await readBody(req)
      const target = req.url ?? '/'
      const q = target.indexOf('?')
      const query = q < 0 ? '' : target.slice(q + 1)
      const request = { method: req.method ?? 'GET', path: q < 0 ? target : target.slice(0, q), query, headers: req.headersDistinct, body }
      const verified = await verifySigV4(request, lookup, { now: now(), service: 'sts' }).catch((err: unknown) => {
        if (err instanceof SigV4Error) calls.rejected++
        throw err
      })
      const params = readParams(query, body, req.headers['content-type'])
      const action = params.get('Action') ?? undefined
      if (action === 'AssumeRole' || action === 'GetCallerIdentity') calls[action]++
      const fault = takeFault(action)
      if (fault) throw new StsError(fault.status, fault.code, fault.message ?? DEFAULT_MESSAGES[fault.code] ?? fault.code)

      const caller = callerOf(verified.accessKeyId)
      if (action === 'GetCallerIdentity') return send(200, callerIdentityXml(caller, requestId))
      if (action === 'AssumeRole') return send(200, assumeRole(readAssumeRole(params, caller.chained), caller, requestId))
      if (action === undefined) throw new StsError(400, 'MissingAction', 'Missing Action')
      throw new StsError(400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`)
    } catch (err) {
      if (err instanceof SigV4Error || err instanceof StsError) return send(err.status, errorXml(err.status, err.code, err.message, requestId))
      // A bug here, not the caller's fault: say so on stderr (errors carry no secrets; requests are not logged).
      console.error(`local STS: internal error for request ${requestId}:`, err)
      return send(500, errorXml(500, 'InternalFailure', 'An internal error occurred.', requestId))
    }
  }

  const server = http.createServer((req, res) => void handle(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    calls,
    issued,
    lookup,
    injectFault: f => faults.push({ ...f, left: f.times ?? 1 }),
    clearFaults: () => void (faults = []),
    reset: () => {
      Object.assign(calls, { AssumeRole: 0, GetCallerIdentity: 0, rejected: 0 })
      issued.length = 0
      sessions.clear()
      faults = []
    },
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function readBody (req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    // Past the cap, drain without keeping, so the client still reads the 413.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY) chunks.push(chunk)
    })
    req.on('end', () => size > MAX_BODY ? reject(new StsError(413, 'RequestEntityTooLarge', 'Request body too large.')) : resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Query-protocol parameters: the query string, plus a form body (form decoding: `+` is a space, as botocore sends it). */
function readParams (query: string, body: Buffer, contentType: string | undefined): URLSearchParams {
  const params = new URLSearchParams(query)
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v)
  }
  return params
}

/** A role's unique id: `AROA` + 17 characters, stable for the role as AWS's is. */
function roleId (roleArn: string): string {
  return `AROA${stableId(roleArn, 17)}`
}

function stableId (seed: string, length: number): string {
  return base32(createHash('sha256').update(seed).digest()).slice(0, length)
}

function base32 (bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  return Array.from(bytes, b => alphabet[b & 31]).join('')
}
