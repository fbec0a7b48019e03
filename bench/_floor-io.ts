// What the floors (_floor.ts warm, _cold-floor.ts cold) write and publish, by hand: the audit item the broker writes
// for an issuance (its attributes and sizes, not its code) and the event publish, to sandbox's bus or as one SigV4-signed
// SNS Publish. Straight-line code with no broker module, so a floor measures the I/O and nothing of ours.
import http from 'node:http'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { SignatureV4 } from '@smithy/signature-v4'
import { NodeSha256 } from '../src/broker/node-sha256'

/** Where a floor publishes: sandbox's bus (`POST {name, payload}`), or an SNS endpoint and topic, signed with these keys. */
export type FloorEvents =
  | { readonly bus: string }
  | { readonly sns: string; readonly topicArn: string; readonly accessKeyId: string; readonly secretAccessKey: string }

/** Claims the record holds as attributes of their own, or leaves out (personal ones, and the token's lifetime). */
const NOT_IN_CLAIMS = new Set(['iss', 'project_path', 'project_id', 'namespace_path', 'ref', 'ref_type', 'ref_protected', 'pipeline_id',
  'job_id', 'jti', 'user_login', 'environment', 'user_email', 'user_identities', 'nbf', 'exp'])

/** The issuance's audit item: the broker's attributes, with the token's other claims as the `claims` map. */
export function floorRecord (c: Record<string, string | number>,
  o: { sha256: string; requestId: string; at: string; role: string; roleArn: string }): Record<string, AttributeValue> {
  const s = (k: string) => ({ S: String(c[k]) })
  const project = `${c.iss}/${c.project_path}`
  const claims: Record<string, AttributeValue> = {}
  for (const [k, v] of Object.entries(c)) if (!NOT_IN_CLAIMS.has(k)) claims[k] = typeof v === 'number' ? { N: String(v) } : { S: v }
  return {
    pk: { S: `token#${o.sha256}` }, sk: { S: `issue#${o.at}#${o.requestId}` }, at: { S: o.at }, requestId: { S: o.requestId },
    issuer: s('iss'), project: { S: project }, project_path: s('project_path'), project_id: s('project_id'),
    namespace_path: s('namespace_path'), ref: s('ref'), ref_type: s('ref_type'), ref_protected: s('ref_protected'),
    pipeline_id: s('pipeline_id'), job_id: s('job_id'), user_login: s('user_login'), environment: s('environment'),
    role: { S: o.role }, token_sha256: { S: o.sha256 }, jti: s('jti'), expiresAt: { N: '1900000000' }, claims: { M: claims },
    ...('user_email' in c && { withheld: { L: [{ S: 'user_email' }] } }),
    outcome: { S: 'issued' }, scope: { S: project }, roleArn: { S: o.roleArn }, issuanceId: { S: o.requestId },
    sessionName: { S: `gitlab-${c.project_id}-${c.job_id}` }, durationSeconds: { N: '3600' }, sourceIdentity: s('user_login'),
  }
}

/** The item as the event carries it: plain JSON values (the `claims` map as an object), and what STS answered. */
export function floorEvent (item: Record<string, AttributeValue>, sts: Record<string, string>): Record<string, unknown> {
  const plain = (v: AttributeValue): unknown => v.S ??
    (v.N !== undefined ? Number(v.N) : v.M ? Object.fromEntries(Object.entries(v.M).map(([k, x]) => [k, plain(x)])) : v.L?.map(plain))
  return { ...sts, ...Object.fromEntries(Object.entries(item).map(([k, v]) => [k, plain(v)])) }
}

/** One POST per event on a kept-alive connection; for SNS, the Query API's form body, signed as the SDK signs. */
export function floorPublisher (to: FloorEvents): (event: Record<string, unknown>) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true })
  const post = (url: URL, headers: Record<string, string>, body: string) => new Promise<void>((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, res => {
      res.resume()
      res.on('end', () => res.statusCode === 200 ? resolve() : reject(new Error(`floor publish: ${res.statusCode}`)))
    })
    request.on('error', reject)
    request.end(body)
  })
  if ('bus' in to) return event => post(new URL(to.bus), { 'content-type': 'application/json' }, JSON.stringify({ name: 'credentials-issued', payload: event }))
  const url = new URL(to.sns)
  const signer = new SignatureV4({ service: 'sns', region: 'us-east-1', credentials: { accessKeyId: to.accessKeyId, secretAccessKey: to.secretAccessKey },
    sha256: NodeSha256 })
  return async event => {
    const body = new URLSearchParams({ Action: 'Publish', Version: '2010-03-31', TopicArn: to.topicArn, Message: JSON.stringify(event) }).toString()
    const signed = await signer.sign({
      method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {},
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
    })
    await post(url, signed.headers, body)
  }
}
