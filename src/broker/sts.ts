// STS AssumeRole for an allowed request: session name, SourceIdentity, sanitised session tags, duration, session policy.
// The only file that talks to STS. Which role and for how long is decided before (exchange.ts).
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts'
import type { Tag } from '@aws-sdk/client-sts'
import { AWS_CLIENT_OPTIONS } from './aws-client-options'
import { claimValues } from './claims'
import type { GitLabClaims } from './claims'
import { UpstreamError } from './errors'

export interface IssuedCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken: string
  readonly expiration: Date
  readonly assumedRoleArn: string
}

export interface AssumeRoleInput {
  readonly roleArn: string
  readonly sessionName: string
  readonly sourceIdentity?: string
  readonly tags: readonly Tag[]
  readonly durationSeconds: number
  readonly policy?: string
}

export interface StsPort {
  assumeRole (input: AssumeRoleInput): Promise<IssuedCredentials>
}

/** AWS: RoleSessionName is 2..64 of [\w+=,.@-]. `gitlab-<project_id>-<job_id>` names the job in CloudTrail. */
export function sessionName (claims: Pick<GitLabClaims, 'project_id' | 'job_id'>): string {
  return `gitlab-${claims.project_id}-${claims.job_id}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
}

/** AWS: SourceIdentity is 2..64 of [\w+=,.@-] and may not start with "aws:". The GitLab user, as CloudTrail shows it. */
export function sourceIdentity (claims: Pick<GitLabClaims, 'user_login'>): string | undefined {
  if (typeof claims.user_login !== 'string') return undefined
  const clean = claims.user_login.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
  return clean.length >= 2 ? clean : undefined
}

/**
 * AWS session tag values: [\p{L}\p{Z}\p{N}_.:/=+\-@], at most 256 characters. Cut at 256 UTF-16 units, and never
 * between the two halves of a character outside the BMP (a lone half cannot be sent: the SDK's encoder throws).
 */
export function sanitizeTagValue (value: string): string {
  const clean = value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_')
  if (clean.length <= 256) return clean
  const cut = clean.slice(0, 256)
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, 255) : cut
}

/** Session tags `gitlab:<claim>` from the named claims; a claim the token lacks is left out. */
export function sessionTags (claims: Readonly<Record<string, unknown>>, names: readonly string[]): Tag[] {
  const tags: Tag[] = []
  for (const name of names) {
    const values = claimValues(claims[name])
    if (values.length === 0) continue
    const value = sanitizeTagValue(values.join(','))
    if (value.length > 0) tags.push({ Key: `gitlab:${name}`, Value: value })
  }
  return tags
}

/**
 * The error code STS answered (`MalformedPolicyDocument`), as its docs and CloudTrail name it. The SDK's `name` is
 * its exception class, which for modelled errors adds `Exception` (`MalformedPolicyDocumentException`); the Query
 * protocol's `<Code>` is kept on the error as `Code`.
 */
export function stsErrorCode (err: STSServiceException): string {
  const code: unknown = (err as { Code?: unknown }).Code
  return typeof code === 'string' && /^[A-Za-z.]{1,64}$/.test(code) ? code : err.name
}

export function createStsClient (options: { region: string; endpoint?: string }): STSClient {
  return new STSClient({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint }),
    ...AWS_CLIENT_OPTIONS,
  })
}

export function createStsPort (options: { region: string; endpoint?: string } | { client: STSClient }): StsPort {
  const client = 'client' in options ? options.client : createStsClient(options)
  return {
    async assumeRole (input) {
      let result
      try {
        result = await client.send(new AssumeRoleCommand({
          RoleArn: input.roleArn,
          RoleSessionName: input.sessionName,
          DurationSeconds: input.durationSeconds,
          ...(input.sourceIdentity && { SourceIdentity: input.sourceIdentity }),
          ...(input.tags.length > 0 && { Tags: [...input.tags] }),
          ...(input.policy && { Policy: input.policy }),
        }))
      }
      catch (err) {
        if (err instanceof STSServiceException) {
          // The caller gets STS's code; its message (which names the broker's own role and account) goes to the logs and audit.
          const code = stsErrorCode(err)
          throw new UpstreamError(`STS refused AssumeRole for ${input.roleArn}: ${code}`, { cause: err, detail: err.message })
        }
        throw new UpstreamError('STS could not be reached; no credentials were issued. Try again shortly.', {
          cause: err, detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        })
      }
      const c = result.Credentials
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration || !result.AssumedRoleUser?.Arn) {
        throw new UpstreamError('STS answered AssumeRole without credentials.')
      }
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
        assumedRoleArn: result.AssumedRoleUser.Arn,
      }
    },
  }
}
