// Writes the local STS's answers in the exact XML of AWS STS's Query protocol (API version 2011-06-15).
// Leaves deciding what to answer to sts.ts: this file only escapes text and arranges elements.

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/'

export interface AssumeRoleAnswer {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
  assumedRoleArn: string
  assumedRoleId: string
  sourceIdentity?: string
  packedPolicySize?: number
}

export interface CallerIdentityAnswer {
  arn: string
  userId: string
  account: string
}

export function assumeRoleXml (a: AssumeRoleAnswer, requestId: string): string {
  return [
    `<AssumeRoleResponse xmlns="${NS}">`,
    '  <AssumeRoleResult>',
    a.sourceIdentity === undefined ? null : `    <SourceIdentity>${esc(a.sourceIdentity)}</SourceIdentity>`,
    '    <AssumedRoleUser>',
    `      <AssumedRoleId>${esc(a.assumedRoleId)}</AssumedRoleId>`,
    `      <Arn>${esc(a.assumedRoleArn)}</Arn>`,
    '    </AssumedRoleUser>',
    '    <Credentials>',
    `      <AccessKeyId>${esc(a.accessKeyId)}</AccessKeyId>`,
    `      <SecretAccessKey>${esc(a.secretAccessKey)}</SecretAccessKey>`,
    `      <SessionToken>${esc(a.sessionToken)}</SessionToken>`,
    `      <Expiration>${isoSeconds(a.expiration)}</Expiration>`,
    '    </Credentials>',
    a.packedPolicySize === undefined ? null : `    <PackedPolicySize>${a.packedPolicySize}</PackedPolicySize>`,
    '  </AssumeRoleResult>',
    metadata(requestId),
    '</AssumeRoleResponse>',
    '',
  ]
    .filter(line => line !== null)
    .join('\n')
}

export function callerIdentityXml (c: CallerIdentityAnswer, requestId: string): string {
  return [
    `<GetCallerIdentityResponse xmlns="${NS}">`,
    '  <GetCallerIdentityResult>',
    `    <Arn>${esc(c.arn)}</Arn>`,
    `    <UserId>${esc(c.userId)}</UserId>`,
    `    <Account>${esc(c.account)}</Account>`,
    '  </GetCallerIdentityResult>',
    metadata(requestId),
    '</GetCallerIdentityResponse>',
    '',
  ].join('\n')
}

/** AWS marks client faults `Sender` and service faults (5xx) `Receiver`. */
export function errorXml (status: number, code: string, message: string, requestId: string): string {
  return [
    `<ErrorResponse xmlns="${NS}">`,
    '  <Error>',
    `    <Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>`,
    `    <Code>${esc(code)}</Code>`,
    `    <Message>${esc(message)}</Message>`,
    '  </Error>',
    `  <RequestId>${esc(requestId)}</RequestId>`,
    '</ErrorResponse>',
    '',
  ].join('\n')
}

/** STS writes timestamps to the second: `2026-11-26T13:00:00Z`. */
export function isoSeconds (d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function metadata (requestId: string): string {
  return `  <ResponseMetadata>\n    <RequestId>${esc(requestId)}</RequestId>\n  </ResponseMetadata>`
}

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

function esc (text: string): string {
  return text.replace(/[&<>"']/g, c => ENTITY[c])
}
