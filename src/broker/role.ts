// The role a job asks for and the session it gets: the role name, the IAM role ARN a mapping names, the session's
// duration and its tags. One home for each rule; the request parser, the mapping parser, config and the CLI import them.

/** Role names are what a job asks for: the same rule for the request parameter and the mapping field. */
export const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,63}$/
/** An IAM role's ARN, in any partition (a mapping's roleArn, the broker's own role in `trust-policy`). */
export const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/
/** AssumeRole from a Lambda role is role chaining: AWS caps the session at one hour. */
export const MIN_DURATION = 900
export const MAX_DURATION = 3600
/** AWS: at most 50 session tags per AssumeRole; 6 are ours by default. */
export const MAX_SESSION_TAGS = 40
export const DEFAULT_SESSION_TAGS: readonly string[] =
  ['project_path', 'ref', 'pipeline_id', 'job_id', 'user_login', 'environment']
