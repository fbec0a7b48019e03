// The DynamoDB client the broker and the CLI share, and the one translation of its failures.
// What is read and written is mappings.ts's and audit.ts's.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { AWS_CLIENT_OPTIONS } from './aws-client-options'
import { Unavailable } from './errors'

export function createDynamoClient (options: {
  region: string
  endpoint?: string
  /** Only for a local DynamoDB (the CLI's --local without AWS credentials set); otherwise the provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string }
}): DynamoDBClient {
  return new DynamoDBClient({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint }),
    ...(options.credentials && { credentials: options.credentials }),
    ...AWS_CLIENT_OPTIONS,
  })
}

/** A conditional write refused because its condition did not hold (the SDK's ConditionalCheckFailedException). */
export function isConditionFailed (err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException'
}

/** DynamoDB being unreachable or failing is never the caller's fault: 503, and nothing issued. */
export function storeUnavailable (what: string, cause: unknown): Unavailable {
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  return new Unavailable(`The broker's ${what} could not be reached; no credentials were issued. Try again shortly.`, { cause, detail })
}
