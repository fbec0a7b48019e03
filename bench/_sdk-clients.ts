// The credentials Lambda's SDK clients built as the broker builds them (dynamo.ts, sts.ts), and nothing else: the
// second baseline for its load time, since a Lambda that sends requests cannot avoid constructing its clients either.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { STSClient } from '@aws-sdk/client-sts'

export { BatchGetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
export { AssumeRoleCommand } from '@aws-sdk/client-sts'
const requestHandler = { connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true }
export const db = new DynamoDBClient({ region: 'us-east-1', maxAttempts: 3, requestHandler })
export const sts = new STSClient({ region: 'us-east-1', maxAttempts: 3, requestHandler })
