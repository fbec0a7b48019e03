// Reads and validates the local STS's AssumeRole parameters the way AWS STS does, collecting every violation into one error.
// Leaves authentication and answering to sts.ts; limits follow the STS API reference for AssumeRole and the IAM session-tag rules.

export class StsError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, message: string) {
    super(message)
    this.name = 'StsError'
    this.status = status
    this.code = code
  }
}

export interface AssumeRoleInput {
  roleArn: string
  roleSessionName: string
  durationSeconds: number
  sourceIdentity?: string
  tags: Record<string, string>
  transitiveTagKeys: string[]
  policy?: string
  /** Percent of the packed-size allowance used by the policy and tags; set only when either is present. */
  packedPolicySize?: number
}

const ROLE_ARN = /^arn:aws(?:-cn|-us-gov|-iso[a-z-]*)?:iam::\d{12}:role\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]{1,64}$/
const NAME = /^[\w+=,.@-]*$/
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u
// Not AWS's packing algorithm (unpublished): a plain-text budget that real policies and tag sets stay well inside.
const PACKED_BUDGET = 4096

/** @throws StsError `ValidationError`, `MalformedPolicyDocument` or `PackedPolicyTooLarge`, as AWS answers them (all 400). */
export function readAssumeRole (params: URLSearchParams, chained: boolean): AssumeRoleInput {
  const problems: string[] = []
  const value = (name: string) => params.get(name) ?? undefined
  const fail = (v: string | undefined, at: string, constraint: string) =>
    problems.push(`Value ${v === undefined ? 'null' : `'${v}'`} at '${at}' failed to satisfy constraint: Member must ${constraint}`)
  const text = (name: string, at: string, min: number, max: number, pattern?: RegExp, patternText?: string) => {
    const v = value(name)
    if (v === undefined) return undefined
    if (v.length < min) fail(v, at, `have length greater than or equal to ${min}`)
    else if (v.length > max) fail(v, at, `have length less than or equal to ${max}`)
    else if (pattern && !pattern.test(v)) fail(v, at, `satisfy regular expression pattern: ${patternText}`)
    return v
  }

  const roleArn = text('RoleArn', 'roleArn', 20, 2048)
  if (roleArn === undefined) fail(undefined, 'roleArn', 'not be null')
  else if (roleArn.length >= 20 && !ROLE_ARN.test(roleArn)) fail(roleArn, 'roleArn', 'be the ARN of an IAM role (arn:aws:iam::123456789012:role/name)')
  const roleSessionName = text('RoleSessionName', 'roleSessionName', 2, 64, NAME, '[\\w+=,.@-]*')
  if (roleSessionName === undefined) fail(undefined, 'roleSessionName', 'not be null')
  const sourceIdentity = text('SourceIdentity', 'sourceIdentity', 2, 64, NAME, '[\\w+=,.@-]*')
  const policy = text('Policy', 'policy', 1, 2048, /^[\t\n\r\x20-\xff]+$/, '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+')

  const duration = value('DurationSeconds')
  const durationSeconds = duration === undefined ? 3600 : Number(duration)
  if (duration !== undefined && !/^-?\d+$/.test(duration)) fail(duration, 'durationSeconds', 'be an integer')
  else if (durationSeconds < 900) fail(duration, 'durationSeconds', 'have value greater than or equal to 900')
  else if (durationSeconds > 43200) fail(duration, 'durationSeconds', 'have value less than or equal to 43200')

  const tagList = readTags(params, fail)
  const transitiveTagKeys = readList(params, 'TransitiveTagKeys').map((k, i) => {
    if (k.length > 128) fail(k, `transitiveTagKeys.${i + 1}.member`, 'have length less than or equal to 128')
    else if (!TAG_KEY.test(k)) fail(k, `transitiveTagKeys.${i + 1}.member`, 'satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+')
    return k
  })
  if (transitiveTagKeys.length > 50) fail(undefined, 'transitiveTagKeys', 'have length less than or equal to 50')

  if (problems.length > 0) {
    const count = `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected`
    throw new StsError(400, 'ValidationError', `${count}: ${problems.join('; ')}`)
  }
  checkTagRules(tagList)
  const tags = Object.fromEntries(tagList)
  // AWS: a role-chained session lasts at most one hour, whatever the role allows.
  if (chained && durationSeconds > 3600) {
    throw new StsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.')
  }
  const packedPolicySize = packedSize(policy, tags)
  return { roleArn: roleArn!, roleSessionName: roleSessionName!, durationSeconds, sourceIdentity, tags, transitiveTagKeys, policy, packedPolicySize }
}

type Fail = (v: string | undefined, at: string, constraint: string) => void

/** `Tags.member.N.Key` / `.Value`, N from 1; the SDK sends a bare `Tags=` for an empty list. */
function readTags (params: URLSearchParams, fail: Fail): Array<[string, string]> {
  const byIndex = new Map<number, { key?: string; value?: string }>()
  for (const [name, v] of params) {
    const m = /^Tags\.member\.(\d+)\.(Key|Value)$/.exec(name)
    if (!m) continue
    const entry = byIndex.get(Number(m[1])) ?? {}
    entry[m[2] === 'Key' ? 'key' : 'value'] = v
    byIndex.set(Number(m[1]), entry)
  }
  if (byIndex.size > 50) fail(undefined, 'tags', 'have length less than or equal to 50')
  const tags: Array<[string, string]> = []
  for (const [n, { key, value }] of [...byIndex].sort((a, b) => a[0] - b[0])) {
    if (key === undefined) fail(undefined, `tags.${n}.member.key`, 'not be null')
    else if (key.length < 1 || key.length > 128) fail(key, `tags.${n}.member.key`, 'have length between 1 and 128')
    else if (!TAG_KEY.test(key)) fail(key, `tags.${n}.member.key`, 'satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+')
    if (value === undefined) fail(undefined, `tags.${n}.member.value`, 'not be null')
    else if (value.length > 256) fail(value, `tags.${n}.member.value`, 'have length less than or equal to 256')
    else if (!TAG_VALUE.test(value)) fail(value, `tags.${n}.member.value`, 'satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*')
    if (key !== undefined && value !== undefined) tags.push([key, value])
  }
  return tags
}

function readList (params: URLSearchParams, name: string): string[] {
  const items: Array<[number, string]> = []
  for (const [k, v] of params) {
    const m = new RegExp(`^${name}\\.member\\.(\\d+)$`).exec(k)
    if (m) items.push([Number(m[1]), v])
  }
  return items.sort((a, b) => a[0] - b[0]).map(([, v]) => v)
}

function checkTagRules (tags: Array<[string, string]>): void {
  const keys = tags.map(([k]) => k.toLowerCase())
  if (new Set(keys).size !== keys.length) {
    throw new StsError(400, 'ValidationError', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.')
  }
  if (keys.some(k => k.startsWith('aws:'))) {
    throw new StsError(400, 'ValidationError', "Tag keys beginning with 'aws:' are reserved for AWS use.")
  }
}

function packedSize (policy: string | undefined, tags: Record<string, string>): number | undefined {
  const tagChars = Object.entries(tags).reduce((n, [k, v]) => n + k.length + v.length, 0)
  if (policy === undefined && tagChars === 0) return undefined
  let compact = ''
  if (policy !== undefined) {
    try {
      compact = JSON.stringify(JSON.parse(policy))
    }
    catch {
      throw new StsError(400, 'MalformedPolicyDocument', 'The policy is not in the valid JSON format.')
    }
  }
  const percent = Math.max(1, Math.ceil(((compact.length + tagChars) * 100) / PACKED_BUDGET))
  if (percent > 100) {
    throw new StsError(400, 'PackedPolicyTooLarge', `Packed policy consumes ${percent}% of allotted space, please use smaller policy for this operation.`)
  }
  return percent
}
