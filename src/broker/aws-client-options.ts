// How the broker's AWS SDK clients (DynamoDB, STS) retry and time out: one setting for both.

/**
 * Fail fast: a Lambda answers 503 or 502 rather than hanging until its own timeout (15 s). Throttling, 5xx and timeouts
 * are retried by the SDK's standard strategy with bounded exponential backoff, and three attempts of at most 3 s fit the
 * Lambda's 15 s. Without throwOnRequestTimeout, @smithy/node-http-handler only logs a warning when requestTimeout
 * passes, and a hung service would hold the request until the Lambda times out.
 */
export const AWS_CLIENT_OPTIONS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true },
} as const
